"""Batch manifests: salted SHA-256 hashes of the identifiers a bank batch contains.

A manifest never holds a raw identifier. The scanner hashes each number it finds with the
batch's salt and looks it up, so a host can tell which batch lingering data came from.
File format (JSON): one batch object, or {"batches": [batch, ...]}, where a batch is
{"format": "clausewatch.manifest/1", "batch": ID, "salt": HEX, "hashes": [HEX, ...], ...}.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

FORMAT = "clausewatch.manifest/1"
StoreReader = Callable[[Path], list[tuple[str, bytes]]]  # a store -> (name, manifest bytes) of each batch


class ManifestError(ValueError):
    """A manifest file that cannot be used; the message names the file and the field."""


def identifier_hash(salt: bytes, number: bytes) -> str:
    """The manifest's hash of one normalised identifier (digits, ID check character upper-case)."""
    return hashlib.sha256(salt + b"\x00" + number).hexdigest()


@dataclass
class Manifest:
    """Hash sets of one or more batches, grouped by salt so one hash per salt answers a lookup."""

    by_salt: dict[bytes, dict[bytes, tuple[str, ...]]] = field(default_factory=dict)  # salt -> digest -> batches
    batch_ids: list[str] = field(default_factory=list)

    def add(self, batch_id: str, salt: bytes, hashes: Iterable[str]) -> None:
        """Raises ValueError for a hash that is not hex."""
        table = self.by_salt.setdefault(salt, {})
        for digest in map(bytes.fromhex, hashes):
            have = table.get(digest)
            if have is None:
                table[digest] = (batch_id,)
            elif batch_id not in have:
                table[digest] = tuple(sorted((*have, batch_id)))
        self.batch_ids.append(batch_id)

    def count_batches(self, numbers: Iterable[bytes]) -> Counter[str]:
        """How many of the normalised `numbers` each batch holds (a number in two batches counts for both)."""
        counts = Counter(numbers)  # counted in C: a number repeated is hashed once
        found: dict[bytes, tuple[str, ...]] = {}
        for salt, table in self.by_salt.items():
            prefix = salt + b"\x00"
            for number in counts:
                batches = table.get(hashlib.sha256(prefix + number).digest())
                if batches:
                    found[number] = found.get(number, ()) + batches
        out: Counter[str] = Counter()
        for number, batches in found.items():
            for batch in set(batches) if len(self.by_salt) > 1 else batches:
                out[batch] += counts[number]
        return out


def batch_document(batch_id: str, salt: bytes, numbers: Iterable[bytes], **meta: object) -> dict:
    """A manifest document for one batch (sorted hashes: the same batch gives the same file)."""
    hashes = sorted({identifier_hash(salt, n) for n in numbers})
    return {"format": FORMAT, "batch": batch_id, "salt": salt.hex(), "algorithm": "sha256",
            "identifiers": len(hashes), **meta, "hashes": hashes}


def _add_batch(manifest: Manifest, doc: object, where: str) -> None:
    if not isinstance(doc, dict):
        raise ManifestError(f"{where}: a batch must be an object")
    for name in ("batch", "salt", "hashes"):
        if name not in doc:
            raise ManifestError(f"{where}: field {name!r} missing")
    try:
        salt = bytes.fromhex(str(doc["salt"]))
    except ValueError:
        raise ManifestError(f"{where}: field 'salt' is not hex") from None
    hashes = doc["hashes"]
    if not isinstance(hashes, list) or not all(isinstance(h, str) and len(h) == 64 for h in hashes):
        raise ManifestError(f"{where}: field 'hashes' must be a list of SHA-256 hex digests")
    try:
        manifest.add(str(doc["batch"]), salt, hashes)
    except ValueError:
        raise ManifestError(f"{where}: field 'hashes' must be a list of SHA-256 hex digests") from None


def _sources(path: Path, read_store: StoreReader | None) -> list[tuple[str, bytes]]:
    """(name, bytes) of each manifest a --manifest argument names: a file, a folder of them, or a store."""
    try:
        if path.is_dir():
            return [(str(p), p.read_bytes()) for p in sorted(path.glob("*.json"))]
        with open(path, "rb") as f:
            head = f.read(16)
        if head == b"SQLite format 3\x00":
            if read_store is None:
                raise ManifestError(f"{path}: a clausewatch store; give the manifest files or their folder")
            return read_store(path)
        return [(str(path), path.read_bytes())]
    except OSError as e:
        raise ManifestError(f"{path}: {e.strerror or e}") from None


def load_manifests(paths: Iterable[Path], read_store: StoreReader | None = None) -> Manifest:
    """Read manifests into one lookup; raises ManifestError naming the file and field.

    Each path is a manifest file, a folder of manifest files, or (given `read_store`, which the
    collector passes) a clausewatch store whose registered batches carry their manifests as evidence.
    """
    manifest = Manifest()
    for name, raw in (src for p in paths for src in _sources(Path(p), read_store)):
        path = name
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise ManifestError(f"{path}: not JSON ({e})") from None
        docs = doc.get("batches") if isinstance(doc, dict) and "batches" in doc else [doc]
        if not isinstance(docs, list):
            raise ManifestError(f"{path}: field 'batches' must be a list")
        for i, d in enumerate(docs):
            _add_batch(manifest, d, f"{path}: batch {i + 1}" if len(docs) > 1 else str(path))
    return manifest
