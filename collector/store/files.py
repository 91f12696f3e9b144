"""Where a store keeps its files beside the database: evidence by SHA-256, the site key, and what commands keep
for it (the demo's inbox, batch manifests)."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

LOCAL_FOLDER = Path("var")  # the default store's folder, relative to where the commands run


def evidence_dir_of(db: Path) -> Path:
    return db.parent / (db.stem + ".evidence")


def site_key_path_of(db: Path) -> Path:
    return db.parent / (db.stem + ".site-key.pem")


def folder_of(db: Path) -> Path:
    """The folder where commands keep files of their own for the store `db` (a batch's manifests): the store
    file's, or for a store in PostgreSQL the local folder (a URL is no place in the file system)."""
    from collector.store.opening import postgres_url_of

    return db.parent if postgres_url_of(db) is None else LOCAL_FOLDER


def beside_store(db: Path, suffix: str) -> Path:
    """A file a command keeps for the store `db` (the demo's inbox): `<store><suffix>` beside the store file,
    or `var/<database><suffix>` for a store in PostgreSQL."""
    from collector.store.opening import postgres_url_of

    url = postgres_url_of(db)
    name = db.stem if url is None else urlsplit(url).path.strip("/").replace("/", "_") or "postgres"
    return folder_of(db) / (name + suffix)
