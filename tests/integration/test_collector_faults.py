"""Faults of a deployment with collectors on one PostgreSQL, with real processes: a collector killed
with SIGKILL under steady ingest, and the database restarted under the collectors."""
from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from agents.config import AgentConfig
from agents.daemon import Agent
from tests.integration.conftest import PASSWORD, Collector, cli, free_port
from tests.integration.test_agent_delivery import produce, wait_empty

pytestmark = pytest.mark.integration
HOST = "term-f01"


def collectors_on(url: str, tmp_path: Path, count: int) -> list[Collector]:
    """`count` collectors (not started) on one new store in the database at `url`, sharing its site key."""
    from collector import auth
    from collector.proof.sitekey import SiteKey
    from collector.store.postgres import PostgresStore

    key = tmp_path / "site-key.pem"
    store = PostgresStore(url, site_key=SiteKey.load_or_create(key))
    for user in auth.ROLES:
        auth.add_user(store, user, user, PASSWORD)
    _, secret = auth.create_enroll_secret(store)
    store.close()
    out = []
    for i in range(count):
        (tmp_path / f"collector-{i}").mkdir()
        c = Collector(Path(url), free_port(), workdir=tmp_path / f"collector-{i}",
                      env={"CLAUSEWATCH_SITE_KEY": str(key)})
        c.secret = secret  # type: ignore[attr-defined]
        out.append(c)
    return out


def start_all(collectors: list[Collector]) -> None:
    """One after the other: started side by side on a busy machine, each may miss its 30 s to answer."""
    for c in collectors:
        c.start()


def agent_for(tmp_path: Path, urls: list[str], secret: str) -> Agent:
    return Agent.create(AgentConfig.model_validate({
        "host_id": HOST, "interval_s": 3600, "state_dir": str(tmp_path / "agent"),
        "collector": {"urls": urls, "enroll_secret": secret, "token_file": str(tmp_path / "agent/token"),
                      "batch_size": 200, "timeout_s": 10, "backoff_initial_s": 0.1, "backoff_max_s": 1}}))


def stored_ids(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM observations WHERE subject_id = %s AND kind = 'usb.block'",
                                           (HOST,))]


def spooled_ids(agent: Agent) -> set[str]:
    return {json.loads(body)["id"] for _, body in agent.spool.peek(10**6)}


class SteadyIngest:
    """An agent's probes producing 25 observations every 50 ms, remembered by id."""

    def __init__(self, agent: Agent):
        self.agent, self.produced = agent, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.wait(0.05):
            batch = [self.agent.env.observe("usb.block", {"n": n + i, "vendor_id": "0781", "product_id": "5567",
                                                          "action": "deauthorized"}) for i in range(25)]
            self.agent.submit(batch)
            self.produced.extend(o.id for o in batch)
            n += 25

    def __enter__(self) -> SteadyIngest:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def wait_for(what: str, check, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout_s} s: {what}"
        time.sleep(0.1)


@pytest.fixture
def started(request) -> Iterator[list[Collector]]:
    """Collectors the test starts, stopped at its end whatever happened."""
    running: list[Collector] = []
    yield running
    for c in running:
        c.kill(signal.SIGTERM)


def test_a_collector_killed_under_ingest_loses_nothing_acknowledged_and_the_agent_goes_on(
        postgres_url: str, tmp_path: Path, started: list[Collector]) -> None:
    first, second = collectors_on(postgres_url, tmp_path, 2)
    started.extend((first, second))
    start_all(started)
    agent = agent_for(tmp_path, [first.url, second.url], first.secret)  # type: ignore[attr-defined]
    agent.start()
    try:
        with SteadyIngest(agent) as ingest:
            wait_for("the first collector has taken 500", lambda: len(stored_ids(postgres_url)) >= 500)
            first.kill(signal.SIGKILL)
            produced = list(ingest.produced)  # produced before this, and no longer spooled: acknowledged
            acknowledged = set(produced) - spooled_ids(agent)
            assert acknowledged <= set(stored_ids(postgres_url))
            wait_for("the second collector has taken more",
                     lambda: len(stored_ids(postgres_url)) >= len(produced) + 200)
        wait_empty(agent, 60)
        assert agent.shipper is not None and agent.shipper.client.url == second.url
    finally:
        agent.stop()
    ids = stored_ids(postgres_url)
    assert len(ids) == len(set(ids)) and set(ids) == set(ingest.produced)  # nothing lost, nothing twice
    verified = cli("ledger", "verify", "--db", postgres_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr


@pytest.fixture
def own_postgres(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A PostgreSQL of this test's own, since the test stops it."""
    from tests.postgres_server import available, running

    if not available():
        pytest.skip("PostgreSQL 15 not installed (deploy/apt/postgres.txt)")
    monkeypatch.setenv("CLAUSEWATCH_SITE_KEY", str(tmp_path / "site-key.pem"))
    with running() as server:
        yield server


def test_a_database_restart_answers_503_meanwhile_and_everything_spooled_arrives_after(
        own_postgres, tmp_path: Path, started: list[Collector]) -> None:
    url = own_postgres.new_database()
    [collector] = collectors_on(url, tmp_path, 1)
    collector.start()
    started.append(collector)
    auditor = collector.login("auditor")
    agent = agent_for(tmp_path, [collector.url], collector.secret)  # type: ignore[attr-defined]
    agent.start()
    try:
        produce(agent, 0, 100)
        wait_empty(agent, 30)
        own_postgres.stop()
        produce(agent, 100, 300)  # meanwhile the agent's probes go on
        token = (tmp_path / "agent/token").read_text()
        batch = b'{"observations":[' + b",".join(body for _, body in agent.spool.peek(10)) + b"]}"
        answer = httpx.post(collector.url + "/api/v1/observations", content=batch, timeout=30,
                            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "5", answer.text
        assert "database" in answer.json()["detail"] and "Traceback" not in answer.text
        health = httpx.get(collector.url + "/healthz", timeout=30)
        assert health.status_code == 503 and health.headers["Retry-After"] == "5"
        findings = httpx.get(collector.url + "/api/v1/findings", headers={"Authorization": f"Bearer {auditor}"},
                             timeout=30)
        assert findings.status_code == 503 and "Traceback" not in findings.text
        assert agent.spool.stats().pending >= 300
        own_postgres.start_again()
        wait_for("/healthz ready again", lambda: httpx.get(collector.url + "/healthz", timeout=30).status_code == 200)
        agent.wake.set()
        wait_empty(agent, 60)
    finally:
        agent.stop()
    ids = stored_ids(url)
    assert len(ids) == len(set(ids)) == 400
    assert collector.log is not None
    served = collector.log.read_text()
    assert '" 503' in served and '" 500' not in served and "Exception in ASGI application" not in served
