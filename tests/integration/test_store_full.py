"""A store that cannot grow: ingest answers 503 with a reason, writes nothing, reads go on, and the
agent keeps its spool and delivers everything once there is room again."""
from __future__ import annotations

import re
import signal
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from agents.daemon import Agent
from tests.integration.conftest import cli
from tests.integration.test_agent_delivery import agent_config, produce, stored, wait_empty

pytestmark = pytest.mark.integration


def wait_for(predicate, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.ingest_pool  # the agent's batches of 500
def test_a_full_store_refuses_with_503_and_the_agent_delivers_everything_later(collector, tmp_path: Path) -> None:
    collector.kill(signal.SIGTERM)
    collector.env = {"CLAUSEWATCH_STORE_MAX_BYTES": str(collector.db.stat().st_size + 256 * 1024)}
    collector.start()
    collector.login("auditor")
    token = collector.enroll("term-full")
    agent = Agent.create(agent_config(tmp_path, collector))
    agent.start()
    produce(agent, 0, 3000)  # ~1.5 MB of distinct observations: far more than the room left
    agent.wake.set()
    wait_for(lambda: "store full" in collector.log.read_text())
    assert agent.spool.stats().pending > 0  # what the collector could not take stays in the spool

    obs = {"id": "5d0c1c2e-0000-4000-8000-000000000001", "source": "x", "subject_kind": "host",
           "subject_id": "term-full", "kind": "usb.block",
           "observed_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
           "payload": {"n": -1, "padding": "x" * 300_000}}
    r = httpx.post(collector.url + "/api/v1/observations", json={"observations": [obs]},
                   headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 503, r.text
    assert int(r.headers["Retry-After"]) > 0
    assert "full" in r.json()["reason"]["en"] and "已满" in r.json()["reason"]["zh"]
    with sqlite3.connect(collector.db) as conn:  # nothing half-written: no row of the refused batch
        assert conn.execute("SELECT COUNT(*) FROM observations WHERE id = ? OR subject_id = 'term-full'",
                            (obs["id"],)).fetchone() == (0,)

    with collector.client("auditor") as c:  # reads go on
        assert c.get("/api/v1/findings").status_code == 200
        assert c.get("/api/v1/observations", params={"limit": 5}).status_code == 200
        refused = re.search(r"^clausewatch_store_full_refusals_total (\S+)$", c.get("/metrics").text, re.MULTILINE)
        assert refused is not None and float(refused.group(1)) >= 2  # the agent's batches and this one: StoreFull
    assert cli("ledger", "verify", "--db", str(collector.db)).returncode == 0

    collector.kill(signal.SIGTERM)  # room again: the size limit is raised
    collector.env = {}
    collector.start()
    agent.wake.set()
    wait_empty(agent)
    agent.stop()
    count, distinct, _, _ = stored(collector.db, "term-001")
    assert count == distinct == 3000  # each once, none lost
    assert cli("ledger", "verify", "--db", str(collector.db)).returncode == 0
