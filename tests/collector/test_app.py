"""The service's own endpoints: /healthz says whether this collector leads the engine's rounds, and
/metrics exports the same as clausewatch_engine_leader."""
from __future__ import annotations

import time

from fastapi.testclient import TestClient
from prometheus_client import generate_latest

from collector.app import create_app
from collector.settings import Settings


def leader_gauge(app) -> str:
    text = generate_latest(app.state.cw.metrics.registry).decode()
    return next(line for line in text.splitlines() if line.startswith("clausewatch_engine_leader "))


def test_the_only_collector_of_an_sqlite_store_leads(tmp_path):
    app = create_app(Settings(db=tmp_path / "cw.db"))
    try:
        assert TestClient(app).get("/healthz").json()["role"] == "leader"
        assert leader_gauge(app) == "clausewatch_engine_leader 1.0"
    finally:
        app.state.cw.store.close()


def test_collectors_of_one_database_lead_one_at_a_time(postgres_url, tmp_path):
    settings = Settings(db=postgres_url, lease_ttl_s=30, ingest_processes=0)
    first, second = create_app(settings), create_app(settings)
    assert TestClient(first).get("/healthz").json()["role"] == "follower"  # not started: it holds no lease
    with TestClient(first) as a, TestClient(second) as b:
        deadline = time.monotonic() + 15
        while a.get("/healthz").json()["role"] != "leader":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)
        assert b.get("/healthz").json()["role"] == "follower"
        assert (leader_gauge(first), leader_gauge(second)) == ("clausewatch_engine_leader 1.0",
                                                               "clausewatch_engine_leader 0.0")
    # stopped, the leader handed the lease back: free for the next collector at once
    assert first.state.cw.store.lease_of("engine")[2] <= 0
    first.state.cw.store.close()
    second.state.cw.store.close()
