"""Consistent copies of a store's database file, taken while others write to it."""
from __future__ import annotations

import os
import sqlite3
import sys
from datetime import datetime
from pathlib import Path

from collector.store.schema import SCHEMA_VERSION, migrate, refuse_newer, schema_version


def copy_database(src: sqlite3.Connection, dest: Path) -> None:
    """A consistent copy of `src` at `dest`, written under a temporary name and renamed into place,
    so that `dest` is either absent or whole."""
    tmp = dest.with_name(dest.name + ".partial")
    tmp.unlink(missing_ok=True)
    out = sqlite3.connect(tmp)
    try:
        # All pages in one step: one read transaction, so one state of the store; in WAL mode the
        # service's writers go on meanwhile.
        src.backup(out)
        out.execute("PRAGMA journal_mode=DELETE")  # the copy is one file, no -wal beside it
    except BaseException:
        out.close()
        tmp.unlink(missing_ok=True)
        raise
    out.close()
    os.replace(tmp, dest)


def backup_before_migration(conn: sqlite3.Connection, path: Path, version: int, now: datetime) -> Path:
    """Copy the store beside itself, named with its schema version and the time, before it is migrated."""
    dest = path.with_name(f"{path.name}.v{version}-{now.strftime('%Y%m%dT%H%M%SZ')}.bak")
    copy_database(conn, dest)
    sys.stderr.write(f"{path}: schema version {version} is migrated to version {SCHEMA_VERSION}; "
                     f"the store as it was is copied to {dest}\n")
    return dest


def migrate_with_backup(conn: sqlite3.Connection, path: Path, now: datetime) -> int:
    """Refuse a store newer than this program (SchemaTooNew); copy an older one aside, then migrate it."""
    version = schema_version(conn)
    refuse_newer(path, version)
    if 0 < version < SCHEMA_VERSION:
        backup_before_migration(conn, path, version, now)
    return migrate(conn)
