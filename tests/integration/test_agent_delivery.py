"""Delivery to a real collector: spool while it is down, nothing lost, nothing doubled."""
from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from agents.config import AgentConfig
from agents.daemon import Agent
from collector.seqgaps import sequence_report
from collector.store.sqlite import SqliteStore

pytestmark = pytest.mark.integration


def agent_config(tmp_path: Path, collector, **collector_kw) -> AgentConfig:
    return AgentConfig.model_validate({
        "host_id": "term-001", "interval_s": 3600, "state_dir": str(tmp_path / "agent"),
        "collector": {"url": collector.url, "enroll_secret": collector.secret, "batch_size": 1000,
                      "backoff_initial_s": 0.05, "backoff_max_s": 0.5, "token_file": str(tmp_path / "agent/token"),
                      **collector_kw}})


def produce(agent: Agent, start: int, count: int) -> None:
    for chunk in range(start, start + count, 500):
        agent.submit([agent.env.observe("usb.block", {"n": n, "vendor_id": "0781", "product_id": "5567",
                                                      "action": "deauthorized"})
                      for n in range(chunk, min(chunk + 500, start + count))])


def wait_empty(agent: Agent, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while agent.spool.stats().pending and time.monotonic() < deadline:
        time.sleep(0.2)
    assert agent.spool.stats().pending == 0, "spool did not drain"


def stored(db: Path, host: str) -> tuple[int, int, int, int]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*), COUNT(DISTINCT seq), MIN(seq), MAX(seq) FROM observations"
                            " WHERE subject_id = ? AND kind = 'usb.block'", (host,)).fetchone()


@pytest.mark.ingest_pool  # batches of 500
def test_ten_thousand_observations_survive_collector_outage_and_agent_restart(collector, tmp_path: Path) -> None:
    collector.kill()  # the collector is away before the agent ever enrolled
    cfg = agent_config(tmp_path, collector)
    agent = Agent.create(cfg)
    agent.start()
    produce(agent, 0, 6000)
    agent.stop()  # an agent restart while the collector is still down
    agent = Agent.create(cfg)
    agent.start()
    produce(agent, 6000, 4000)
    assert agent.spool.stats().pending == 10_000
    collector.start()
    agent.wake.set()
    wait_empty(agent)
    agent.stop()
    assert stored(collector.db, "term-001") == (10_000, 10_000, 0, 9_999)
    store = SqliteStore(collector.db)
    try:
        [report] = sequence_report(store, "term-001")
    finally:
        store.close()
    assert report.missing == 0 and not report.restarted


def test_resent_batch_is_stored_once(collector, tmp_path: Path) -> None:
    agent = Agent.create(agent_config(tmp_path, collector))
    produce(agent, 0, 50)
    bodies = [b for _, b in agent.spool.peek(50)]
    assert agent.shipper is not None
    agent.shipper.flush()
    # the answer of the first send was "lost": the same batch comes again
    r = agent.shipper._post(bodies)
    assert r.status_code == 200 and r.json()["duplicates"] == 50
    assert stored(collector.db, "term-001")[0] == 50
    agent.stop()


def test_heartbeat_reports_tamper_after_config_change(collector, tmp_path: Path) -> None:
    conf = tmp_path / "agent.toml"
    conf.write_text("interval_s = 3600\n")
    cfg = agent_config(tmp_path, collector)
    first = Agent.create(cfg, config_path=conf)
    first.start()
    first.stop()
    conf.write_text("interval_s = 3600\n[usb]\nenforce = false\n")
    second = Agent.create(cfg, config_path=conf)
    second.start()
    second.submit([second.heartbeat()])
    wait_empty(second)
    second.stop()
    r = httpx.get(collector.url + "/api/v1/observations", params={"subject": "term-001", "kind": "agent.heartbeat"},
                  headers={"Authorization": f"Bearer {collector.login('auditor')}"})
    beat = r.json()[0]["payload"]
    assert beat["tamper"] == ["config file changed since the last start"]
    assert datetime.fromisoformat(r.json()[0]["observed_at"]) <= datetime.now(UTC)


def test_one_refused_observation_does_not_jam_the_spool(collector, tmp_path: Path) -> None:
    agent = Agent.create(agent_config(tmp_path, collector))
    produce(agent, 0, 3)
    foreign = agent.env.observe("usb.block", {"n": 99})
    foreign.subject_id = "someone-else"  # an agent may only write its own host
    agent.submit([foreign])
    produce(agent, 3, 2)
    assert agent.shipper is not None
    agent.shipper.flush()
    assert agent.spool.stats().pending == 0 and agent.shipper.rejected_total == 1
    assert stored(collector.db, "term-001")[0] == 5
    assert agent.heartbeat().payload["rejected_total"] == 1
    agent.stop()


def sequence_finding(collector, token: str, want: str, timeout_s: float = 20) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        r = httpx.get(collector.url + "/api/v1/findings", params={"control": "AGENT-SEQUENCE", "subject": "term-001"},
                      headers={"Authorization": f"Bearer {token}"})
        if (r.json() and r.json()[0]["status"] == want) or time.monotonic() > deadline:
            assert r.json() and r.json()[0]["status"] == want, r.json()
            return r.json()[0]
        time.sleep(0.2)


def test_held_back_observations_fail_the_host_until_they_arrive(collector, tmp_path: Path) -> None:
    agent = Agent.create(agent_config(tmp_path, collector))
    produce(agent, 0, 100)
    rows = agent.spool.peek(100)
    assert agent.shipper is not None
    token = collector.login("auditor")
    held = rows[40:70]  # as if deleted from the spool before shipping, or lost on the way
    assert agent.shipper._post([b for _, b in rows[:40] + rows[70:]]).status_code == 200
    finding = sequence_finding(collector, token, "fail")
    assert finding["value"]["gaps"][0]["from"] == 40 and finding["value"]["gaps"][0]["to"] == 69
    assert "30 agent observation(s) never arrived" in finding["reason"]["en"]
    assert "缺失 30 条" in finding["reason"]["zh"]
    assert agent.shipper._post([b for _, b in held]).status_code == 200  # the spool is re-sent
    assert sequence_finding(collector, token, "pass")["value"]["gaps_total"] == 0
    agent.stop()
