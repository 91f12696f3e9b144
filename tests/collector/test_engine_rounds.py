"""A round's verdicts and how they are kept: status changes become intervals, ledger entries and events;
stale or missing data is unknown; a round too big for one transaction is recorded in parts; a new leader
records only what moved, and one that loses its lease records nothing more."""
from datetime import timedelta

import pytest

from collector import engine as engine_module
from collector.engine import Engine
from collector.store.areas import Fence, LeaseLost
from rules.catalog import default_catalog
from tests.collector.engine_judging import (
    T0,
    changed_by_judging_from_scratch,
    heartbeat,
    identity,
    usb,
)


def test_status_changes_become_history_ledger_entries_and_events(store):
    engine = Engine(store, list(default_catalog()))
    for t, usable in ((T0, False), (T0 + timedelta(minutes=30), True), (T0 + timedelta(minutes=60), False)):
        batch = [usb("h1", t, usable)]
        store.ingest(batch, actor="t")
        engine.evaluate(engine.note(batch), now=t)
    ivs = store.intervals(control="USB-BLOCK", subject=("host", "h1"))
    assert [i.status for i in ivs] == ["pass", "fail", "pass"]
    assert ivs[1].value["usable_storage"] == 1
    changes = [e for e in store.read.execute("SELECT body FROM ledger").fetchall() if b"finding.changed" in e[0]
               and b"USB-BLOCK" in e[0]]
    assert len(changes) == 3
    assert store.read.execute("SELECT count(*) FROM events WHERE control='USB-BLOCK'").fetchone()[0] == 3


def test_stale_data_turns_unknown_on_sweep(store):
    engine = Engine(store, list(default_catalog()))
    batch = [usb("h1", T0, False)]
    store.ingest(batch, actor="t")
    engine.evaluate(engine.note(batch), now=T0)
    engine.evaluate(None, now=T0 + timedelta(hours=3))
    [f] = store.current_findings(control="USB-BLOCK")
    assert f.status == "unknown" and f.since == T0 + timedelta(hours=3)


def test_enrolled_host_without_data_is_unknown(store):
    engine = Engine(store, list(default_catalog()))
    engine.add_subject("host", "quiet", "default")
    engine.evaluate(None, now=T0)
    statuses = {f.control: f.status for f in store.current_findings(subject_id="quiet")}
    assert statuses["USB-BLOCK"] == "unknown"
    assert "BACKUP-FRESH" not in statuses  # applies only to hosts that report backups


def test_engine_restart_keeps_state(store):
    engine = Engine(store, list(default_catalog()))
    batch = [usb("h1", T0, True)]
    store.ingest(batch, actor="t")
    engine.note(batch)
    engine.evaluate(None, now=T0)
    again = Engine(store, list(default_catalog()))
    assert again.evaluate(None, now=T0 + timedelta(minutes=1)) == 0  # nothing changed, nothing recorded


def test_worker_stops_and_joins_cleanly(store):
    from collector.engine import EngineWorker

    worker = EngineWorker(Engine(store, list(default_catalog())), sweep_s=3600, checkpoint_s=3600)
    worker.start()
    worker.submit([usb("h1", T0, False)])
    worker.stop()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert store.verify_ledger().checkpoints >= 1  # the head is signed on the way out


def test_a_round_changing_more_findings_than_one_transaction_holds_records_and_tells_them_all(store, monkeypatch):
    monkeypatch.setattr(engine_module, "RECORD_PART", 7)
    engine = Engine(store, list(default_catalog()))
    told: list = []
    engine.listeners.append(told.extend)
    hosts = [f"h{i}" for i in range(4)]
    first = [o for h in hosts for o in (heartbeat(h, T0), usb(h, T0, usable=False))]
    store.ingest(first, actor="t")
    engine.note(first)
    changed = engine.evaluate(None, now=T0)
    stored = store.current_findings()
    assert changed == len(told) == len(stored) > 7
    assert sorted((c.finding.control, c.finding.subject_id) for c in told) == [
        (f.control, f.subject_id) for f in stored]
    assert changed_by_judging_from_scratch(store, T0) == []
    assert store.verify_ledger().ok


def test_a_new_leaders_first_round_over_a_stored_site_asks_every_check_and_records_only_what_moved(store):
    """A collector that comes to lead (or restarts) knows no held verdict: it asks every check again, and
    compares with the stored findings, so that nothing unchanged is recorded (no ledger entry, no event)."""
    hosts = [f"h{i}" for i in range(6)]
    first = [o for h in hosts for o in (heartbeat(h, T0), usb(h, T0, usable=h == "h0"), identity(h, T0, h))]
    store.ingest(first, actor="t")
    engine = Engine(store, list(default_catalog()))
    engine.note(first)
    engine.evaluate(None, now=T0)
    stored = store.current_findings()
    head = store.ledger_head()
    leader = Engine(store, list(default_catalog()))
    told: list = []
    leader.listeners.append(told.extend)
    assert leader.evaluate(None, now=T0) == 0
    assert leader.checks_run == engine.checks_run  # every check again, as the first round asked them
    assert told == [] and store.ledger_head() == head and store.current_findings() == stored
    later = T0 + timedelta(seconds=30)  # only the hosts' silence moved: its findings' values, not their statuses
    before = leader.checks_run
    leader.evaluate(None, now=later)
    reporting = {c.id for c in default_catalog() if c.check == "agent_reporting"}
    assert {c.finding.control for c in told} == reporting and not any(c.status_changed for c in told)
    leader.evaluate(None, now=later)  # its verdicts now held: only the clock readers again
    assert leader.checks_run - before - len(told) == len(hosts) * len(reporting)
    assert changed_by_judging_from_scratch(store, later) == []


def test_a_leader_that_loses_its_lease_amid_a_round_of_many_parts_records_and_tells_only_the_parts_before(
        store, monkeypatch):
    """Parts are written while the next is judged: once another collector has taken the lease, no later part
    is recorded, the round fails, and the new leader's first round ends where judging from scratch ends."""
    monkeypatch.setattr(engine_module, "RECORD_PART", 7)
    hosts = [f"h{i}" for i in range(4)]
    first = [o for h in hosts for o in (heartbeat(h, T0), usb(h, T0, usable=False))]
    store.ingest(first, actor="t")
    term = store.take_lease("engine", "a", 60)
    old = Engine(store, list(default_catalog()))
    old.lead(Fence("engine", "a", term))
    told: list = []
    old.listeners.append(told.extend)
    record = store.record_findings

    def taken_over_after_the_first_part(changes, now, *, fence=None, encoded=None):
        n = record(changes, now, fence=fence, encoded=encoded)
        store.release_lease("engine", "a")
        store.take_lease("engine", "b", 60)
        return n

    monkeypatch.setattr(store, "record_findings", taken_over_after_the_first_part)
    with pytest.raises(LeaseLost):
        old.evaluate(None, now=T0)
    monkeypatch.setattr(store, "record_findings", record)
    assert len(told) == 7
    assert sorted((f.control, f.subject_id) for f in store.current_findings()) == sorted(
        (c.finding.control, c.finding.subject_id) for c in told)
    new = Engine(store, list(default_catalog()))
    new.lead(Fence("engine", "b", store.lease_of("engine")[1]))
    new.evaluate(None, now=T0)
    assert len(store.current_findings()) > 7
    assert changed_by_judging_from_scratch(store, T0) == []
    assert store.verify_ledger().ok
