"""Storage: one small interface (base.Store), an embedded SQLite backend, Elasticsearch later."""
from collector.store.base import IngestResult, Store, StoredFinding
from collector.store.sqlite import SqliteStore

__all__ = ["IngestResult", "SqliteStore", "Store", "StoredFinding"]
