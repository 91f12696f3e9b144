"""The one way a command opens the store: an existing store is checked before anything is written to it.

`SqliteStore(path)` creates what is missing (folders, file, site key) and migrates: right for the
commands that set a site up, wrong for every other one, where a mistyped --db would silently start
a new store with a new site key. A file that is not SQLite, or SQLite that is not ours, is refused
before SQLite or a migration touches it.
"""
from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

from collector.inputs import StoreOpenError
from collector.store.base import StoreUnavailable
from collector.store.schema import refuse_newer
from collector.store.sqlite import SqliteStore

SQLITE_MAGIC = b"SQLite format 3\x00"
LOCAL_FOLDER = Path("var")  # the default store's folder, relative to where the commands run
# `--db` and CLAUSEWATCH_DB arrive as paths, which fold the URL's "//" into "/": both forms are read
_POSTGRES_URL = re.compile(r"^(postgres(?:ql)?):(?:/+|$)")  # "postgresql://" alone folds to "postgresql:"


def postgres_url_of(db: Path | str) -> str | None:
    """The PostgreSQL URL `db` names (postgresql://user@host:port/database), or None for a file path."""
    text = str(db)
    return _POSTGRES_URL.sub(r"\1://", text, count=1) if _POSTGRES_URL.match(text) else None


def folder_of(db: Path) -> Path:
    """The folder where commands keep files of their own for the store `db` (a batch's manifests): the store
    file's, or for a store in PostgreSQL the local folder (a URL is no place in the file system)."""
    return db.parent if postgres_url_of(db) is None else LOCAL_FOLDER


def beside_store(db: Path, suffix: str) -> Path:
    """A file a command keeps for the store `db` (the demo's inbox): `<store><suffix>` beside the store file,
    or `var/<database><suffix>` for a store in PostgreSQL."""
    url = postgres_url_of(db)
    name = db.stem if url is None else urlsplit(url).path.strip("/").replace("/", "_") or "postgres"
    return folder_of(db) / (name + suffix)


def check_store_file(path: Path) -> None:
    """Refuse a --db that is missing, not a regular file, not SQLite, or SQLite without our schema."""
    try:
        exists, is_file = path.exists(), path.is_file()
    except OSError as e:  # a name too long, a folder that cannot be searched
        raise StoreOpenError(f"{path}: cannot read ({e.strerror or e})") from None
    if not exists:
        raise StoreOpenError(f"{path}: no such store (check --db; a new store is created by serve, demo "
                             "or users add)")
    if not is_file:
        raise StoreOpenError(f"{path}: not a store file")
    _check_header(path)
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise StoreOpenError(f"{path}: not a readable SQLite store ({e})") from None
    if version < 1:
        raise StoreOpenError(f"{path}: an SQLite file, but not a clausewatch store (no schema)")
    refuse_newer(path, version)


def _check_header(path: Path) -> None:
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except OSError as e:
        raise StoreOpenError(f"{path}: cannot read ({e.strerror or e})") from None
    if head != SQLITE_MAGIC:
        raise StoreOpenError(f"{path}: not an SQLite store" + (" (empty file)" if not head else ""))


def open_store(db: Path | str, *, create: bool = False, max_bytes: int | None = None) -> SqliteStore:
    """The store `db` names, a file or a PostgreSQL URL; `create` (set-up commands only) makes a new
    one where none exists; `max_bytes`: a store file grows no further (SqliteStore)."""
    url = postgres_url_of(db)
    if url is not None:
        return _open_postgres(url, create)
    path = Path(db)
    if create and not path.exists():
        return _open(path, max_bytes)
    check_store_file(path)
    return _open(path, max_bytes)


def _open(path: Path, max_bytes: int | None = None) -> SqliteStore:
    try:
        return SqliteStore(path, max_bytes=max_bytes)
    except (sqlite3.Error, OSError) as e:
        raise StoreOpenError(f"{path}: cannot open the store ({e})") from None


def _open_postgres(url: str, create: bool) -> SqliteStore:
    try:
        from collector.store.postgres import DatabaseError, PostgresStore, redacted
    except ImportError:
        raise StoreOpenError("--db names a PostgreSQL database: install clausewatch[postgres]") from None
    try:
        return PostgresStore(url, create=create)
    except (DatabaseError, StoreUnavailable) as e:
        raise StoreOpenError(f"{redacted(url)}: cannot open the store ({str(e).strip().splitlines()[0]})") from None
