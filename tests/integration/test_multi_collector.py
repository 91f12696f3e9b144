"""Two `clausewatch serve` processes on one PostgreSQL: ingest through both keeps one hash chain, one
collector judges (one finding change per change), and the other takes over when it is killed."""
from __future__ import annotations

import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest

from tests.integration.conftest import PASSWORD, Collector, cli, free_port

pytestmark = pytest.mark.integration
LEASE_TTL_S = 2.0
HOSTS = [f"T{i:03d}" for i in range(12)]


def usb(host: str, at: datetime, usable: bool) -> dict:
    device = {"vendor_id": "0781", "product_id": "5567", "classes": ["08"], "authorized": usable}
    return {"id": str(uuid.uuid4()), "source": "agent", "subject_kind": "host", "subject_id": host,
            "kind": "usb.devices", "observed_at": at.isoformat(),
            "payload": {"enforcement": "sysfs", "devices": [device]}}


def wait_for(what: Callable[[], bool], timeout_s: float = 30.0) -> float:
    """Seconds it took."""
    started = time.monotonic()
    while not what():
        assert time.monotonic() - started < timeout_s, "not within the time"
        time.sleep(0.1)
    return time.monotonic() - started


def role(c: Collector) -> str:
    return httpx.get(c.url + "/healthz", timeout=5).json()["role"]


@pytest.fixture(scope="module")
def database(postgres_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A database of this module's own, and the site key its collectors and commands sign with."""
    url = postgres_server.new_database()
    yield url, tmp_path_factory.mktemp("multi") / "site-key.pem"
    postgres_server.drop_database(url)


@pytest.fixture(scope="module")
def pair(database: tuple[str, Path]) -> Iterator[tuple[Collector, Collector]]:
    """Two collectors started at once on one database: (the one that leads, the one that follows).
    Started once for the module (a collector takes seconds to start); the last test kills the leader."""
    from collector import auth
    from collector.proof.sitekey import SiteKey
    from collector.store.postgres import PostgresStore

    postgres_url, key = database
    tmp_path = key.parent
    store = PostgresStore(postgres_url, site_key=SiteKey.load_or_create(key))
    auth.add_user(store, "security", "security", PASSWORD)
    _, secret = auth.create_enroll_secret(store)
    store.close()
    env = {"CLAUSEWATCH_SITE_KEY": str(key), "CLAUSEWATCH_LEASE_TTL_S": str(LEASE_TTL_S),
           "CLAUSEWATCH_INGEST_PROCESSES": "0"}
    collectors = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        c = Collector(Path(postgres_url), free_port(), workdir=tmp_path / name, env=env)
        c.secret = secret  # type: ignore[attr-defined]
        collectors.append(c)
    starting = [threading.Thread(target=c.start) for c in collectors]
    try:
        for t in starting:
            t.start()
        for t in starting:
            t.join(60)
        wait_for(lambda: sorted(role(c) for c in collectors) == ["follower", "leader"], 15)
        yield tuple(sorted(collectors, key=lambda c: role(c) != "leader"))  # type: ignore[misc]
    finally:
        for c in collectors:
            c.kill(signal.SIGTERM)


def finding_status(c: Collector, host: str) -> str | None:
    rows = c.client("security").get("/api/v1/findings", params={"control": "USB-BLOCK", "subject": host}).json()
    return rows[0]["status"] if rows else None


def verify_ledger(database: tuple[str, Path]) -> None:
    url, key = database
    verify = cli("ledger", "verify", "--db", url, "--json", env={"CLAUSEWATCH_SITE_KEY": str(key)})
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert orjson.loads(verify.stdout)["ok"] is True


def history(url: str) -> tuple[dict[tuple[str, str, str], list[tuple[str, float | None]]], Counter]:
    """Every finding's intervals (status, end) in order, and the ledger's finding changes per finding."""
    from collector.store.postgres import PostgresStore

    store = PostgresStore(url, create=False)
    try:
        intervals: dict[tuple[str, str, str], list[tuple[str, float | None]]] = {}
        for i in store.intervals():
            intervals.setdefault((i.control, i.subject_kind, i.subject_id), []).append(
                (i.status, i.end.timestamp() if i.end else None))
        changes: Counter = Counter()
        for _, _, body in store.ledger_entries(1, store.verify_ledger(observations=False).entries):
            entry = orjson.loads(body)
            if entry["type"] == "finding.changed":
                d = entry["data"]
                changes[(d["control"], d["subject_kind"], d["subject_id"])] += 1
    finally:
        store.close()
    return intervals, changes


def post_phase(collectors: tuple[Collector, Collector], usable: bool, start: datetime, batches: int) -> None:
    """Each host's thread posts `batches` batches, alternately through either collector, all at once."""
    failures: list[str] = []

    def ship(i: int, host: str) -> None:
        for n in range(batches):
            c = collectors[(i + n) % 2]
            batch = [usb(host, start + timedelta(milliseconds=10 * n + k), usable) for k in range(5)]
            r = c.client(host).post("/api/v1/observations", json={"observations": batch})
            if r.status_code != 200:
                failures.append(f"{host} via {c.url}: {r.status_code} {r.text}")

    threads = [threading.Thread(target=ship, args=(i, h)) for i, h in enumerate(HOSTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []


def test_concurrent_ingest_through_both_keeps_one_chain_and_one_change_per_change(pair, database):
    a, b = pair
    for i, host in enumerate(HOSTS):
        pair[i % 2].enroll(host)
        pair[(i + 1) % 2].tokens[host] = pair[i % 2].tokens[host]
    a.login("security")
    wait_for(lambda: all(finding_status(a, h) == "unknown" for h in HOSTS))  # enrolled, no data yet
    t0 = datetime.now(UTC) - timedelta(minutes=2)
    post_phase(pair, True, t0, 4)  # usable storage on every terminal: USB-BLOCK fails
    wait_for(lambda: all(finding_status(a, h) == "fail" for h in HOSTS))
    post_phase(pair, False, t0 + timedelta(minutes=1), 4)  # blocked again: it passes
    wait_for(lambda: all(finding_status(a, h) == "pass" for h in HOSTS))
    time.sleep(2.5)  # a full sweep (every 2 s here) and a checkpoint of each collector's last appends
    intervals, changes = history(database[0])
    for host in HOSTS:
        assert [s for s, _ in intervals[("USB-BLOCK", "host", host)]] == ["unknown", "fail", "pass"], host
    for finding, spans in intervals.items():
        statuses = [s for s, _ in spans]
        assert all(x != y for x, y in zip(statuses, statuses[1:], strict=False)), (finding, statuses)
        assert [end for _, end in spans].count(None) == 1, finding
        assert changes[finding] == len(spans), finding  # one ledger entry per change, none twice
    verify_ledger(database)


def test_killing_the_leader_hands_judging_to_the_other_within_seconds(pair, database):
    a, b = pair
    b.enroll("K001")
    b.login("security")
    a.login("security")
    wait_for(lambda: finding_status(b, "K001") == "unknown")  # enrolled through the follower, judged by the leader
    now = datetime.now(UTC)
    assert b.client("K001").post("/api/v1/observations", json={"observations": [usb("K001", now, True)]}) \
        .status_code == 200  # through the follower: the leader judges it
    wait_for(lambda: finding_status(b, "K001") == "fail")
    gauges = {c.url: [line for line in c.client("security").get("/metrics").text.splitlines()
                      if line.startswith("clausewatch_engine_leader ")] for c in (a, b)}
    assert gauges == {a.url: ["clausewatch_engine_leader 1.0"], b.url: ["clausewatch_engine_leader 0.0"]}

    a.kill(signal.SIGKILL)
    took_s = wait_for(lambda: role(b) == "leader", 20)
    assert took_s < LEASE_TTL_S + 4  # the lease runs out, and b's next renewal takes it
    fixed = usb("K001", now + timedelta(seconds=1), False)
    assert b.client("K001").post("/api/v1/observations", json={"observations": [fixed]}).status_code == 200
    wait_for(lambda: finding_status(b, "K001") == "pass")
    intervals, changes = history(database[0])
    assert [s for s, _ in intervals[("USB-BLOCK", "host", "K001")]] == ["unknown", "fail", "pass"]
    assert changes[("USB-BLOCK", "host", "K001")] == 3
    verify_ledger(database)
