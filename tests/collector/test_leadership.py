"""Two collectors' engines on one store: one judges, the other takes over when the first stops renewing
its lease (collector/leadership.py). Real stores, two handles as two processes hold them; run with
CLAUSEWATCH_TEST_STORE=postgresql for the database every collector shares."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from collector.engine import Engine, EngineWorker
from collector.leadership import ENGINE_LEASE, EngineLease, SoleLeader
from rules.catalog import default_catalog
from tests.collector.engine_judging import usb

TTL_S = 1.5


def wait_for(what: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not what():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)


def worker_on(store, lease) -> EngineWorker:
    return EngineWorker(Engine(store, list(default_catalog())), sweep_s=3600, checkpoint_s=0.5, coalesce_s=0.05,
                        leadership=lease)


@pytest.fixture
def collectors(store, same_store_elsewhere) -> Iterator[tuple[EngineWorker, EngineWorker]]:
    """Collector a leads (it took the lease first); collector b follows."""
    first, second = EngineLease(store, ttl_s=TTL_S, holder="a"), EngineLease(same_store_elsewhere, ttl_s=TTL_S,
                                                                                holder="b")
    first.renew()
    workers = (worker_on(store, first), worker_on(same_store_elsewhere, second))
    for w in workers:
        w.leadership.start()
        w.start()
    yield workers
    for w in workers:
        w.stop()
        w.join(10)
        w.leadership.stop()


def usb_block(store, host: str) -> list[str]:
    return [i.status for i in store.intervals(control="USB-BLOCK", subject=("host", host))]


def test_the_leader_judges_what_either_collector_stored_and_the_follower_judges_nothing(store, collectors):
    a, b = collectors
    now = datetime.now(UTC)
    batch = [usb("h1", now, True)]
    b.engine.store.ingest(batch, actor="agent:h1")  # ingest through the follower
    b.submit(batch)
    wait_for(lambda: usb_block(store, "h1") == ["fail"])
    assert a.leading() and not b.leading()
    fixed = [usb("h1", now + timedelta(seconds=1), False)]
    store.ingest(fixed, actor="agent:h1")  # and through the leader
    a.submit(fixed)
    wait_for(lambda: usb_block(store, "h1") == ["fail", "pass"])
    time.sleep(0.5)
    assert usb_block(store, "h1") == ["fail", "pass"]  # once each
    # the follower reads findings from the store, as the leader recorded them
    assert {(f.control, f.status) for f in b.engine.current() if f.subject_id == "h1"} >= {("USB-BLOCK", "pass")}
    # and keeps its latest observations current from the store (within a round, about a second)
    wait_for(lambda: b.engine.latest[("host", "h1")][("usb.devices", "")].observed_at == fixed[0].observed_at, 5)
    assert store.verify_ledger().ok


def test_when_the_leader_stops_renewing_the_other_takes_over_and_judges_what_it_left(store, collectors):
    a, b = collectors
    now = datetime.now(UTC)
    first = [usb("h1", now, True)]
    store.ingest(first, actor="agent:h1")
    a.submit(first)
    wait_for(lambda: usb_block(store, "h1") == ["fail"])
    a.leadership.stopping.set()  # the leader hangs: it renews no more, its engine thread still runs
    unjudged = [usb("h1", now + timedelta(seconds=1), False)]
    b.engine.store.ingest(unjudged, actor="agent:h1")  # stored while the lease runs out; nobody judged it yet
    started = time.monotonic()
    wait_for(b.leading)
    assert time.monotonic() - started < TTL_S + 2 and not a.leading()
    wait_for(lambda: usb_block(store, "h1") == ["fail", "pass"])
    again = [usb("h1", now + timedelta(seconds=2), True)]
    b.engine.store.ingest(again, actor="agent:h1")
    b.submit(again)
    wait_for(lambda: usb_block(store, "h1") == ["fail", "pass", "fail"])
    time.sleep(0.5)
    assert usb_block(store, "h1") == ["fail", "pass", "fail"]  # the old leader recorded nothing twice
    assert store.lease_of(ENGINE_LEASE)[:2] == ("b", 2)
    assert store.verify_ledger().ok


def test_a_leader_stopping_hands_over_at_once(store, same_store_elsewhere):
    mine, theirs = EngineLease(store, ttl_s=60, holder="a"), EngineLease(same_store_elsewhere, ttl_s=60, holder="b")
    mine.renew()
    theirs.renew()
    assert mine.leading() and not theirs.leading()
    mine.stop()
    theirs.renew()
    assert theirs.leading() and theirs.term() == 2 and not mine.leading()


def test_the_only_collector_of_a_store_leads_unfenced(store):
    sole = SoleLeader()
    assert sole.leading() and sole.fence_of(0) is None
    worker = worker_on(store, sole)
    batch = [usb("h1", datetime.now(UTC), True)]
    store.ingest(batch, actor="agent:h1")
    worker.start()
    try:
        worker.submit(batch)
        wait_for(lambda: usb_block(store, "h1") == ["fail"])
        assert worker.leading() and store.lease_of(ENGINE_LEASE) is None
    finally:
        worker.stop()
        worker.join(10)


def test_a_leader_that_missed_losing_its_lease_records_nothing_and_follows(store, same_store_elsewhere):
    """A leader paused past its lease (its own clock stood still) wakes up believing it leads: the store
    refuses its finding changes, and it follows the collector that took over."""
    paused = EngineLease(store, ttl_s=0.5, holder="a", clock=lambda: 0.0)
    paused.renew()
    a = worker_on(store, paused)
    a.start()
    try:
        time.sleep(0.7)
        b_lease = EngineLease(same_store_elsewhere, ttl_s=60, holder="b")
        b_lease.renew()
        assert b_lease.term() == 2 and paused.leading()  # a has not noticed
        batch = [usb("h1", datetime.now(UTC), True)]
        store.ingest(batch, actor="agent:h1")
        a.submit(batch)
        wait_for(lambda: not a.leading())
        assert usb_block(store, "h1") == []  # a's change was refused whole
        b = worker_on(same_store_elsewhere, b_lease)
        b.start()
        try:
            wait_for(lambda: usb_block(store, "h1") == ["fail"])
            time.sleep(0.5)
            assert usb_block(store, "h1") == ["fail"] and b.leading() and not a.leading()
        finally:
            b.stop()
            b.join(10)
    finally:
        a.stop()
        a.join(10)
    assert store.verify_ledger().ok
