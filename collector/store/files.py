"""Where a store keeps its files beside the database: evidence by SHA-256, and the site key."""
from __future__ import annotations

from pathlib import Path


def evidence_dir_of(db: Path) -> Path:
    return db.parent / (db.stem + ".evidence")


def site_key_path_of(db: Path) -> Path:
    return db.parent / (db.stem + ".site-key.pem")
