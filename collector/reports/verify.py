"""Offline verification of an evidence bundle: the manifest signature, every file's SHA-256,
evidence files against their names, and the ledger segment's hash chain and signed checkpoints.
Needs nothing but the zip and (preferably) the site's public key obtained independently."""
from __future__ import annotations

import hashlib
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from collector.proof.canonical import CanonicalError, canonical
from collector.proof.ledger import Problem, VerifyReport, verify_chain, verify_checkpoints
from collector.proof.sitekey import key_id_of, load_public_pem, verify_signature
from collector.reports.bundle import (
    ENTRIES,
    LEGACY_FORMAT,
    MANIFEST,
    PUBKEY,
    REPORT_DATA,
    SEGMENT,
    SIGNATURE,
    SIGNING_CONTEXT,
)


@dataclass
class BundleReport:
    files_checked: int = 0
    ledger_entries: int = 0
    ledger_withheld: int = 0  # entries of other sites, given by hash only
    checkpoints: int = 0
    key_source: str = "bundle"
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "files_checked": self.files_checked, "ledger_entries": self.ledger_entries,
                "ledger_withheld": self.ledger_withheld, "checkpoints": self.checkpoints,
                "key_source": self.key_source, "problems": self.problems}


def _load_key(pem: bytes, rep: BundleReport, where: str) -> Ed25519PublicKey | None:
    try:
        return load_public_pem(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        rep.problems.append(f"{where}: not an Ed25519 public key ({e})")
        return None


def _read_all(z: zipfile.ZipFile, rep: BundleReport) -> dict[str, bytes]:
    out = {}
    for name in z.namelist():
        try:
            out[name] = z.read(name)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, zlib.error) as e:
            rep.problems.append(f"{name}: unreadable in the zip ({e})")
    return out


def _check_manifest(files: dict[str, bytes], pubkey_pem: bytes | None, rep: BundleReport) -> dict[str, Any] | None:
    raw, sig = files.get(MANIFEST), files.get(SIGNATURE)
    if raw is None or sig is None:
        rep.problems.append(f"{MANIFEST if raw is None else SIGNATURE}: missing")
        return None
    bundled = files.get(PUBKEY)
    if pubkey_pem is not None:
        rep.key_source = "given"
        if bundled is not None and bundled.strip() != pubkey_pem.strip():
            rep.problems.append(f"{PUBKEY}: differs from the key given with --pubkey")
    key_pem = pubkey_pem or bundled
    if key_pem is None:
        rep.problems.append(f"{PUBKEY}: missing and no --pubkey given")
        return None
    pub = _load_key(key_pem, rep, "--pubkey" if pubkey_pem else PUBKEY)
    try:
        signature = bytes.fromhex(sig.decode().strip())
    except (ValueError, UnicodeDecodeError) as e:
        rep.problems.append(f"{SIGNATURE}: unreadable ({e})")
        return None
    if pub is None:
        return None
    if not verify_signature(pub, signature, SIGNING_CONTEXT + raw):
        rep.problems.append(f"{SIGNATURE}: the signature of {MANIFEST} does not verify with the site key")
    try:
        manifest = orjson.loads(raw)
    except orjson.JSONDecodeError:
        rep.problems.append(f"{MANIFEST}: not JSON")
        return None
    _check_canonical(raw, manifest, rep)
    return manifest


def _check_canonical(raw: bytes, manifest: Any, rep: BundleReport) -> None:
    """A /2 manifest is signed in its RFC 8785 form: other bytes mean it was made or changed by
    something else (/1 bundles, signed in the older form, are checked by their signature alone)."""
    if not isinstance(manifest, dict) or manifest.get("format") == LEGACY_FORMAT:
        return
    try:
        same = canonical(manifest) == raw
    except CanonicalError as e:
        rep.problems.append(f"{MANIFEST}: not expressible in RFC 8785 form ({e})")
        return
    if not same:
        rep.problems.append(f"{MANIFEST}: not in RFC 8785 canonical form")


def _check_files(files: dict[str, bytes], manifest: dict[str, Any], rep: BundleReport) -> None:
    listed = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(listed, dict):
        rep.problems.append(f"{MANIFEST}: lists no files")
        return
    for name, want in sorted(listed.items()):
        data = files.get(name)
        if data is None:
            rep.problems.append(f"{name}: missing from the bundle")
            continue
        rep.files_checked += 1
        got = hashlib.sha256(data).hexdigest()
        if got != want:
            rep.problems.append(f"{name}: altered (SHA-256 {got[:16]}…, manifest says {want[:16]}…)")
        elif name.startswith("evidence/") and name.rsplit("/", 1)[-1] != got:
            rep.problems.append(f"{name}: content does not match its SHA-256 name")
    for name in sorted(set(files) - set(listed) - {MANIFEST, SIGNATURE}):
        rep.problems.append(f"{name}: not listed in the manifest (added)")


def _check_report_hash(files: dict[str, bytes], manifest: dict[str, Any], rep: BundleReport) -> None:
    """The report data hash printed on every page is the SHA-256 of report-data.json."""
    data, want = files.get(REPORT_DATA), manifest.get("report_sha256") if isinstance(manifest, dict) else None
    if data is not None and want and hashlib.sha256(data).hexdigest() != want:
        rep.problems.append(f"{REPORT_DATA}: its SHA-256 is not the report data hash the report prints ({want[:16]}…)")


def _check_ledger(files: dict[str, bytes], pub_pem: bytes | None, rep: BundleReport) -> None:
    if ENTRIES not in files or SEGMENT not in files or pub_pem is None:
        rep.problems.append("ledger: segment missing")
        return
    try:
        header = orjson.loads(files[SEGMENT])
        start_hash = bytes.fromhex(header["prev_hash"])
        cps = [(int(c["seq"]), str(c["hash"]), str(c["ts"]), bytes.fromhex(c["signature"]).hex(), str(c["key_id"]))
               for c in header.get("checkpoints", [])]
    except (orjson.JSONDecodeError, KeyError, ValueError, TypeError) as e:
        rep.problems.append(f"{SEGMENT}: unreadable ({e})")
        return
    try:
        rows = []
        for line in files[ENTRIES].splitlines():
            if line.strip():
                entry = orjson.loads(line)
                body = None if "withheld" in entry else str(entry["body"]).encode()
                rows.append((int(entry["seq"]), str(entry["hash"]), body))
    except (orjson.JSONDecodeError, KeyError, ValueError, TypeError) as e:
        rep.problems.append(f"{ENTRIES}: unreadable ({e})")
        return
    vr = VerifyReport()
    hashes, rep.ledger_withheld = _chain(rows, vr, int(header.get("first", 1)), start_hash)
    if not header.get("site"):  # only a site's bundle may withhold other sites' entries
        rep.problems += [f"ledger entry {seq}: withheld, but the bundle is for the whole store"
                         for seq, _, body in rows if body is None]
    pub = _load_key(pub_pem, rep, "ledger key")
    if pub is None:
        return
    verify_checkpoints(cps, hashes, {key_id_of(pub): pub}, vr)
    rep.ledger_entries, rep.checkpoints = vr.entries, vr.checkpoints
    rep.problems += [p.text() for p in vr.problems]
    last = rows[-1][0] if rows else 0
    if rows and last != header.get("last"):
        rep.problems.append(f"ledger entry {last}: segment ends before entry {header['last']} (entries removed)")
    if not any(c[0] == last for c in cps):
        rep.problems.append(f"ledger entry {last}: the segment does not end at a signed checkpoint")


def _chain(rows: list[tuple[int, str, bytes | None]], vr: VerifyReport, first: int, start_hash: bytes
           ) -> tuple[dict[int, str], int]:
    """The hash chain over the segment. A withheld entry (another site's, body None) is taken at
    its given hash: the entries after it must chain from that hash, and the signed checkpoints
    must match where the chain ends; its own content cannot be checked."""
    hashes: dict[int, str] = {}
    withheld = 0
    run: list[tuple[int, str, bytes]] = []
    run_seq, prev = first, start_hash
    for row in [*rows, None]:
        if row is not None and row[2] is not None:
            run.append((row[0], row[1], row[2]))
            continue
        if run:
            hashes.update(verify_chain(run, vr, start_seq=run_seq, start_hash=prev))
            run_seq, prev, run = run[-1][0] + 1, bytes.fromhex(hashes[run[-1][0]]), []
        if row is None:
            break
        seq, given, _ = row
        if seq != run_seq:
            vr.problems.append(Problem(run_seq, "removed", f"entries {run_seq}..{seq - 1} are missing"))
        vr.entries += 1
        withheld += 1
        try:
            prev = bytes.fromhex(given)
        except ValueError:
            vr.problems.append(Problem(seq, "altered", "its hash is not hexadecimal"))
            prev = b""
        hashes[seq], run_seq = given, seq + 1
    return hashes, withheld


def verify_bundle(path: Path | str, pubkey_pem: bytes | None = None) -> BundleReport:
    rep = BundleReport()
    try:
        with zipfile.ZipFile(path) as z:
            files = _read_all(z, rep)
    except (zipfile.BadZipFile, OSError) as e:
        rep.problems.append(f"{path}: not a readable zip ({e})")
        return rep
    manifest = _check_manifest(files, pubkey_pem, rep)
    if manifest is not None:
        _check_files(files, manifest, rep)
        _check_report_hash(files, manifest, rep)
    _check_ledger(files, pubkey_pem or files.get(PUBKEY), rep)
    return rep
