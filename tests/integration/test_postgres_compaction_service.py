"""A collector on PostgreSQL compacts its store on its own schedule, and the ledger still verifies."""
from __future__ import annotations

import json
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

from collector.cli.demo import build_history
from collector.store.opening import open_store
from tests.integration.conftest import Collector, cli, free_port

ALL_OBSERVATIONS = "SELECT (SELECT count(*) FROM observations) + (SELECT count(*) FROM observation_repeats)"
COMPACTED = "SELECT count(*) FROM ledger WHERE CAST(body AS TEXT) LIKE '%\"type\":\"store.compacted\"%'"


def _count(url: str, sql: str) -> int:
    store = open_store(url)
    try:
        return int(store.read.execute(sql).fetchone()[0])
    finally:
        store.close()


def _dropped(url: str) -> int:
    """Observations the store.compacted ledger entries say they dropped."""
    store = open_store(url)
    try:
        rows = store.read.execute(COMPACTED.replace("count(*)", "body")).fetchall()
    finally:
        store.close()
    return sum(json.loads(bytes(body))["data"]["dropped"] for (body,) in rows)


def test_scheduled_compaction_runs_on_postgresql_and_the_ledger_verifies(tmp_path, postgres_url, monkeypatch):
    site = tmp_path / "site.db"
    build_history(site, days=2, terminals=2, cameras=3, step_minutes=60, end=datetime.now(UTC))
    r = cli("store", "copy", "--from", str(site), "--to", postgres_url)
    assert r.returncode == 0, r.stderr
    before = _count(postgres_url, ALL_OBSERVATIONS)
    monkeypatch.setenv("CLAUSEWATCH_COMPACT_EVERY_H", "0.0005")  # every 1.8 s
    monkeypatch.setenv("CLAUSEWATCH_KEEP_RAW_DAYS", "0")
    c = Collector(Path(postgres_url), free_port(), workdir=tmp_path)
    c.start()
    try:
        deadline = time.monotonic() + 60
        while not _count(postgres_url, COMPACTED) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        c.kill(signal.SIGTERM)
    assert _count(postgres_url, COMPACTED), (c.log.read_text()[-2000:] if c.log else "")
    dropped = _dropped(postgres_url)
    assert dropped > before / 3  # two days of hourly data kept raw for none of them: most of it goes
    # what the ledger entries say went, give or take the few the service records itself meanwhile
    assert _count(postgres_url, ALL_OBSERVATIONS) <= before - dropped + 5
    r = cli("ledger", "verify", "--deep", "--db", postgres_url)
    assert r.returncode == 0, r.stdout + r.stderr
