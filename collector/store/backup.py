"""`store backup` and `store restore`: a consistent copy of a store, taken while the service runs.

A backup is a folder: `store.db` (one consistent state of the database, by SQLite's online backup),
`evidence/` (the evidence files that state refers to), `site-key.pub.pem`, `site-key.pem` only when
asked for, and `manifest.json` (schema version, ledger head, SHA-256 of every file). It is built under
a hidden temporary name beside OUT and renamed into place, so OUT is either absent or whole.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from collector.inputs import InputProblem
from collector.proof.sitekey import SiteKey
from collector.store.batches import seal_file
from collector.store.copies import copy_database
from collector.store.files import evidence_dir_of, site_key_path_of
from collector.store.integrity import evidence_path, file_sha256, is_sha256_hex
from collector.store.opening import check_store_file
from collector.store.schema import refuse_newer

MANIFEST, DATABASE, EVIDENCE, PUBLIC_KEY, PRIVATE_KEY = (
    "manifest.json", "store.db", "evidence", "site-key.pub.pem", "site-key.pem")
FORMAT = 1


class BackupError(InputProblem):
    """A backup or restore that cannot be made with what was given (exit 2)."""


@dataclass
class Manifest:
    format: int
    taken_at: str
    schema_version: int
    ledger_head_seq: int
    ledger_head_hash: str | None
    evidence_files: int
    private_key: bool
    sha256: dict[str, str] = field(default_factory=dict)  # path inside the backup -> SHA-256


def ledger_head(conn: sqlite3.Connection) -> tuple[int, str | None]:
    row = conn.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, None)


def backup_store(db: Path, out: Path, *, include_key: bool, now: datetime) -> Manifest:
    """Copy the store at `db` into the new folder `out`; returns what the backup holds."""
    check_store_file(db)
    return write_backup(out, lambda tmp: _fill(db, tmp, include_key=include_key, now=now))


def write_backup(out: Path, fill: Callable[[Path], Manifest]) -> Manifest:
    """Run `fill` on a new private folder beside `out` and rename it to `out` once whole; on any failure
    nothing is left, and a full disk or an unreadable file is said in one line (BackupError)."""
    if _exists(out, "cannot write the backup"):
        raise BackupError(f"{out}: already exists (a backup goes to a new folder)")
    if not out.parent.is_dir():
        raise BackupError(f"{out.parent}: no such folder")
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(mode=0o700)  # it holds account and token hashes: for its owner only
    except OSError as e:
        raise BackupError(f"{out.parent}: cannot write the backup there ({e.strerror or e})") from None
    try:
        manifest = fill(tmp)
        os.rename(tmp, out)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)  # nothing half-written is left
        if isinstance(e, BackupError) or not isinstance(e, (OSError, sqlite3.Error, ValueError)):
            raise
        # a full disk, an unreadable key file: said in one line
        raise BackupError(f"{out}: cannot write the backup ({getattr(e, 'strerror', None) or e})") from None
    return manifest


def _fill(db: Path, tmp: Path, *, include_key: bool, now: datetime) -> Manifest:
    src = sqlite3.connect(db, timeout=30, isolation_level=None)
    try:
        seal_file(src)  # the batches acknowledged so far are in the copied ledger
        copy_database(src, tmp / DATABASE)
    finally:
        src.close()
    contents = sealed_contents(tmp / DATABASE)
    copied = _copy_evidence(evidence_dir_of(db), tmp / EVIDENCE, contents.evidence)
    key_file = site_key_path_of(db)
    if key_file.exists():
        (tmp / PUBLIC_KEY).write_bytes(SiteKey.load_or_create(key_file).public_pem())
    return finish_manifest(tmp, contents, copied, key_file, include_key=include_key, now=now)


@dataclass
class Contents:
    """What a backup's database holds, as the manifest names it."""
    schema_version: int
    head_seq: int
    head_hash: str | None
    evidence: list[str]  # SHA-256 of every evidence row


def sealed_contents(database: Path) -> Contents:
    """Seal the copied database's open batches, as opening it would (the manifest names the head a
    restore of it has), and read what the manifest says of it."""
    copy = sqlite3.connect(database, isolation_level=None)
    try:
        seal_file(copy)  # a batch stored between the source's seal and the copy
        version = int(copy.execute("PRAGMA user_version").fetchone()[0])
        head_seq, head_hash = ledger_head(copy)
        digests = [r[0] for r in copy.execute("SELECT sha256 FROM evidence ORDER BY sha256")]
    finally:
        copy.close()
    return Contents(version, head_seq, head_hash, digests)


def finish_manifest(tmp: Path, contents: Contents, evidence_files: int, key_file: Path, *,
                    include_key: bool, now: datetime) -> Manifest:
    """Copy the private site key `key_file` when asked for, then hash every file into manifest.json."""
    if include_key:
        if not key_file.exists():
            raise BackupError(f"{key_file}: no site key to include")
        fd = os.open(tmp / PRIVATE_KEY, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key_file.read_bytes())
    manifest = Manifest(FORMAT, now.isoformat(), contents.schema_version, contents.head_seq, contents.head_hash,
                        evidence_files, include_key)
    manifest.sha256 = {p.relative_to(tmp).as_posix(): file_sha256(p)
                       for p in sorted(tmp.rglob("*")) if p.is_file()}
    (tmp / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    return manifest


def _copy_evidence(src_dir: Path, dest_dir: Path, digests: list[str]) -> int:
    """Copy the files the copied database refers to; one missing is left for `ledger verify` to report."""
    copied = 0
    for digest in filter(is_sha256_hex, digests):  # a forged row names no path outside the folders
        src = evidence_path(src_dir, digest)
        if src.is_file():
            dest = evidence_path(dest_dir, digest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            copied += 1
    return copied


def read_manifest(backup: Path) -> Manifest:
    """The manifest of the backup folder `backup`, after checking every file it lists."""
    try:
        return _checked_manifest(backup)
    except OSError as e:
        raise BackupError(f"{backup}: cannot read the backup ({e.strerror or e})") from None


def _checked_manifest(backup: Path) -> Manifest:
    if not (backup / MANIFEST).is_file():
        raise BackupError(f"{backup}: not a clausewatch backup (no {MANIFEST})")
    try:
        manifest = Manifest(**json.loads((backup / MANIFEST).read_text()))
    except (ValueError, TypeError) as e:
        raise BackupError(f"{backup / MANIFEST}: unreadable ({e})") from None
    if not (isinstance(manifest.format, int) and isinstance(manifest.schema_version, int)
            and isinstance(manifest.sha256, dict) and DATABASE in manifest.sha256):
        raise BackupError(f"{backup / MANIFEST}: not a manifest written by store backup")
    if manifest.format != FORMAT:
        raise BackupError(f"{backup / MANIFEST}: backup format {manifest.format}, this program reads {FORMAT}")
    refuse_newer(backup / DATABASE, manifest.schema_version)
    for name, digest in manifest.sha256.items():
        path = backup / name
        if not path.is_file() or file_sha256(path) != digest:
            raise BackupError(f"{path}: missing or changed since the backup was taken")
    listed = {backup / name for name in manifest.sha256} | {backup / MANIFEST}
    for path in sorted(backup.rglob("*")):
        if (path.is_file() or path.is_symlink()) and path not in listed:
            raise BackupError(f"{path}: not part of the backup (added after it was taken)")
    return manifest


def restore_store(backup: Path, db: Path) -> Manifest:
    """Put the backup folder `backup` in place as the store `db`; refuses to overwrite anything."""
    manifest = read_manifest(backup)
    targets = (db, evidence_dir_of(db), site_key_path_of(db))
    for target in targets:
        if _exists(target, "cannot restore there"):
            raise BackupError(f"{target}: already exists (restore goes into an empty place)")
    placed: list[Path] = []
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        if (backup / EVIDENCE).is_dir():
            placed.append(_place(backup / EVIDENCE, evidence_dir_of(db), shutil.copytree))
        if manifest.private_key:
            placed.append(_place(backup / PRIVATE_KEY, site_key_path_of(db), shutil.copyfile, mode=0o600))
        _place(backup / DATABASE, db, shutil.copyfile)  # last: the store exists only once all is in place
    except OSError as e:
        for path in placed:  # nothing half-restored is left to block the next try
            _remove(path)
        raise BackupError(f"{db}: cannot restore there ({e.strerror or e})") from None
    return manifest


def _place(src: Path, dest: Path, copy: Callable[[Path, Path], object], mode: int | None = None) -> Path:
    """Copy under a hidden name, then rename: `dest` is absent or whole."""
    tmp = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    try:
        if mode is not None:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))  # private from its first byte
        copy(src, tmp)
        os.rename(tmp, dest)
    except BaseException:
        _remove(tmp)
        raise
    return dest


def _exists(path: Path, problem: str) -> bool:
    try:
        return path.exists()
    except OSError as e:  # a name too long, a folder that cannot be searched
        raise BackupError(f"{path}: {problem} ({e.strerror or e})") from None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
