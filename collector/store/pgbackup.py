"""`store backup` and `store restore` of a PostgreSQL store: the same backup folder an SQLite store's
makes (collector/store/backup.py), so a backup restores into either backend.

Backup: `store copy` reads the database in one snapshot (REPEATABLE READ) into the folder's `store.db`,
the evidence files from the database into `evidence/`; the site key is the one the PostgreSQL store signs
with (CLAUSEWATCH_SITE_KEY). Restore: the backup's files are read in place, never written (its manifest
checks every byte), and `store copy` writes them into an empty database; an interrupted restore continues
when run again, as an interrupted copy does. The database's own tools (pg_dump, base backups, a replica)
remain the way to back up a large database quickly; this is the way that gives the same folder, manifest
and ledger head on both backends.
"""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from collector.store.backup import (
    DATABASE,
    EVIDENCE,
    PRIVATE_KEY,
    PUBLIC_KEY,
    BackupError,
    Manifest,
    finish_manifest,
    read_manifest,
    sealed_contents,
    write_backup,
)
from collector.store.files import evidence_dir_of
from collector.store.integrity import read_checked
from collector.store.opening import open_store
from collector.store.sqlite import SqliteStore
from collector.store.transfer import COPY_SOURCE_KEY, copy_store


def backup_postgres(url: str, out: Path, *, include_key: bool, now: datetime,
                    on_chunk: Callable[[str, int], None] | None = None) -> Manifest:
    """Copy the PostgreSQL store at `url` into the new folder `out`; returns what the backup holds.
    `on_chunk(table, rows)` as each chunk of rows is written (progress)."""
    from collector.store.postgres import site_key_path

    source = open_store(url)
    try:
        return write_backup(out, lambda tmp: _fill(source, site_key_path(), tmp, name=str(out),
                                                   include_key=include_key, now=now, on_chunk=on_chunk))
    finally:
        source.close()


def _fill(source: SqliteStore, key_file: Path, tmp: Path, *, name: str, include_key: bool,
          now: datetime, on_chunk: Callable[[str, int], None] | None) -> Manifest:
    database = tmp / DATABASE
    copy = SqliteStore(database, site_key=source.site_key)  # the key that signs the source, no new one
    try:
        report = copy_store(source, copy, src_name=getattr(source, "where", "source"), dst_name=name,
                            on_chunk=on_chunk)
        with copy.write() as conn:
            conn.execute("DELETE FROM meta WHERE key = ?", (COPY_SOURCE_KEY,))  # a backup, not a copy under way
    finally:
        copy.close()
    _one_file(database)
    if evidence_dir_of(database).is_dir():
        os.rename(evidence_dir_of(database), tmp / EVIDENCE)
    (tmp / PUBLIC_KEY).write_bytes(source.site_key.public_pem())
    return finish_manifest(tmp, sealed_contents(database), report.evidence_files, key_file,
                           include_key=include_key, now=now)


def _one_file(database: Path) -> None:
    """The database as one file, without a write-ahead log beside it that a restore would not copy."""
    conn = sqlite3.connect(database, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()


def restore_postgres(backup: Path, url: str) -> tuple[Manifest, bool]:
    """Copy the backup folder `backup` into the empty PostgreSQL database `url`. Returns the manifest and
    whether the store now signs with the backup's own site key."""
    from collector.store.postgres import site_key_path

    manifest = read_manifest(backup)
    key_file = site_key_path()
    placed = manifest.private_key and _place_key(backup / PRIVATE_KEY, key_file)
    try:
        return manifest, _copy_into(backup, url)
    except BaseException:
        if placed:  # a refused or failed restore leaves no key behind
            key_file.unlink(missing_ok=True)
        raise


def _copy_into(backup: Path, url: str) -> bool:
    target = open_store(url, create=True)
    try:
        source = BackupReader(backup)
        try:
            copy_store(source, target, src_name=str(backup), dst_name=getattr(target, "where", url),
                       command="store restore")
        finally:
            source.close()
        same_key = target.site_key.public_pem() == (backup / PUBLIC_KEY).read_bytes() \
            if (backup / PUBLIC_KEY).is_file() else False
    finally:
        target.close()
    return same_key


def _place_key(key: Path, place: Path) -> bool:
    """Put the backup's private site key where the PostgreSQL store reads it, unless that key is there
    already (False); another key there is never replaced."""
    wanted = key.read_bytes()
    if place.exists():
        if place.read_bytes() != wanted:
            raise BackupError(f"{place}: holds another site key; restore does not replace it (set "
                              "CLAUSEWATCH_SITE_KEY to where the backup's key should go)")
        return False
    place.parent.mkdir(parents=True, exist_ok=True)
    tmp = place.with_name(f".{place.name}.partial-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(wanted)
    os.rename(tmp, place)
    return True


class BackupReader:
    """A backup's database and evidence files, read as `store copy` reads a store and never written: the
    manifest has checked every byte, and the folder must stay as it was for the next restore."""

    def __init__(self, backup: Path):
        try:
            self._conn = sqlite3.connect(f"{(backup / DATABASE).resolve().as_uri()}?mode=ro", uri=True,
                                         isolation_level=None)
        except sqlite3.Error as e:
            raise BackupError(f"{backup / DATABASE}: cannot read ({e})") from None
        self._evidence = backup / EVIDENCE

    @property
    def read(self) -> sqlite3.Connection:
        return self._conn

    def seal_batches(self, *, due: bool = False) -> int | None:
        return None  # sealed when the backup was taken (collector/store/backup.py)

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        yield self._conn

    def checked_evidence_bytes(self, sha256: str) -> bytes | None:
        return read_checked(self._evidence, sha256)

    def close(self) -> None:
        self._conn.close()
