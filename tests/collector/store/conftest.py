"""`backend_store`: a new, empty store on each backend in turn (SQLite file, PostgreSQL database)."""
from __future__ import annotations

import pytest

from collector.sitekey import SiteKey


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_store(request, tmp_path):
    if request.param == "sqlite":
        from collector.store.sqlite import SqliteStore

        s = SqliteStore(tmp_path / "cw.db")
    else:
        from collector.store.postgres import PostgresStore

        key = SiteKey.load_or_create(tmp_path / "site-key.pem")
        s = PostgresStore(request.getfixturevalue("postgres_url"), site_key=key)
    yield s
    s.close()
