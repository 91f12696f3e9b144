"""Storage: one small interface (base.Store), an embedded SQLite backend (the default) and a PostgreSQL one
(collector/store/postgres.py) for several collectors on one database."""
from collector.store.base import IngestResult, Store, StoredFinding
from collector.store.sqlite import SqliteStore

__all__ = ["IngestResult", "SqliteStore", "Store", "StoredFinding"]
