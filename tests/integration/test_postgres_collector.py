"""The collector API tests again, with `clausewatch serve --db postgresql://...` on a real PostgreSQL."""
from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.integration.conftest import PASSWORD, Collector, free_port, wants_ingest_pool
from tests.integration.test_collector_api import *  # noqa: F403 (the same tests, on the fixture below)


@pytest.fixture
def collector(tmp_path: Path, postgres_url: str, request: pytest.FixtureRequest):
    from collector import auth
    from collector.proof.sitekey import SiteKey
    from collector.store.postgres import PostgresStore

    key = tmp_path / "site-key.pem"
    store = PostgresStore(postgres_url, site_key=SiteKey.load_or_create(key))
    for user in auth.ROLES:
        auth.add_user(store, user, user, PASSWORD)
    _, secret = auth.create_enroll_secret(store)
    store.close()
    c = Collector(Path(postgres_url), free_port(), workdir=tmp_path, env={"CLAUSEWATCH_SITE_KEY": str(key)},
                  ingest_pool=wants_ingest_pool(request))
    c.secret = secret  # type: ignore[attr-defined]
    c.start()
    yield c
    c.kill(signal.SIGTERM)
