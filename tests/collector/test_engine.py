import random
from datetime import UTC, datetime, timedelta

import pytest

from collector import engine as engine_module
from collector.engine import Engine
from collector.proof.deepverify import verify_derived
from collector.store.areas import Fence, LeaseLost
from rules.catalog import default_catalog
from rules.model import Observation

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def usb(host: str, t: datetime, usable: bool) -> Observation:
    dev = {"vendor_id": "0781", "product_id": "5567", "classes": ["08"], "authorized": usable}
    return Observation(source="t", subject_kind="host", subject_id=host, kind="usb.devices", observed_at=t,
                       payload={"enforcement": "sysfs", "devices": [dev]})


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


def test_incremental_evaluation_touches_only_dirty_subjects(store):
    engine = Engine(store, list(default_catalog()))
    batch = [usb(f"h{i}", T0, False) for i in range(5)]
    store.ingest(batch, actor="t")
    engine.evaluate(engine.note(batch), now=T0)
    before = {(f.subject_id, f.control): f.evaluated_at for f in store.current_findings()}
    later = T0 + timedelta(minutes=10)
    b2 = [usb("h3", later, True)]
    store.ingest(b2, actor="t")
    assert engine.note(b2) == {("host", "h3"): {"usb.devices"}}
    engine.evaluate({("host", "h3")}, now=later)
    after = {(f.subject_id, f.control): f.evaluated_at for f in store.current_findings()}
    assert after[("h3", "USB-BLOCK")] == later
    assert after[("h1", "USB-BLOCK")] == before[("h1", "USB-BLOCK")]


def test_engine_restart_keeps_state(store):
    engine = Engine(store, list(default_catalog()))
    batch = [usb("h1", T0, True)]
    store.ingest(batch, actor="t")
    engine.note(batch)
    engine.evaluate(None, now=T0)
    again = Engine(store, list(default_catalog()))
    assert again.evaluate(None, now=T0 + timedelta(minutes=1)) == 0  # nothing changed, nothing recorded


def test_incremental_evaluation_runs_only_controls_reading_the_changed_kinds(store):
    engine = Engine(store, list(default_catalog()))
    engine.add_subject("host", "h1", "default")
    engine.evaluate(None, now=T0)
    before = {f.control: f.evaluated_at for f in store.current_findings(subject_id="h1")}
    later = T0 + timedelta(minutes=5)
    batch = [usb("h1", later, True)]
    store.ingest(batch, actor="t")
    engine.evaluate(engine.note(batch), now=later)
    after = {f.control: f.evaluated_at for f in store.current_findings(subject_id="h1")}
    assert after["USB-BLOCK"] == later
    assert after["AV-FRESH"] == before["AV-FRESH"]  # antivirus data did not change: not re-run


def test_worker_stops_and_joins_cleanly(store):
    from collector.engine import EngineWorker

    worker = EngineWorker(Engine(store, list(default_catalog())), sweep_s=3600, checkpoint_s=3600)
    worker.start()
    worker.submit([usb("h1", T0, False)])
    worker.stop()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert store.verify_ledger().checkpoints >= 1  # the head is signed on the way out


def test_running_engine_takes_in_what_another_process_stored_and_judged(store):
    """A command-line import next to the service: the service's engine sees its observations, keeps
    judging them (the finding follows later data), and does not record the import's change twice."""
    import time

    from collector.engine import EngineWorker
    from tests.stores import another_process

    now = datetime.now(UTC)
    worker = EngineWorker(Engine(store, list(default_catalog())), sweep_s=3600, checkpoint_s=3600,
                          coalesce_s=0.05)
    worker.start()
    try:
        cli = another_process(store)  # its own connections, engine and ledger head
        batch = [usb("h9", now, True)]
        cli.ingest(batch, actor="cli")
        cli_engine = Engine(cli, list(default_catalog()))
        cli_engine.evaluate(cli_engine.note(batch), now=now)
        cli.close()
        assert [f.status for f in store.current_findings(control="USB-BLOCK", subject_id="h9")] == ["fail"]

        def usb_block() -> list[str]:
            return [i.status for i in store.intervals(control="USB-BLOCK", subject=("host", "h9"))]

        deadline = time.monotonic() + 10
        while ("host", "h9") not in worker.engine.latest and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ("host", "h9") in worker.engine.latest
        time.sleep(0.3)
        assert usb_block() == ["fail"]  # judged once, by the import

        fixed = [usb("h9", now + timedelta(minutes=5), False)]
        store.ingest(fixed, actor="agent")
        worker.submit(fixed)
        while usb_block() != ["fail", "pass"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert usb_block() == ["fail", "pass"]
    finally:
        worker.stop()
        worker.join(timeout=10)
    assert store.verify_ledger().ok


def random_observation(rng: random.Random, now: datetime) -> Observation:
    """One observation of a small site, of a kind some check reads across subjects; payloads drawn so
    that people share terminals, canaries catch addresses and batches find data left behind."""
    host, at = f"h{rng.randrange(5)}", now - timedelta(minutes=rng.randrange(0, 240, 15))
    people, addresses = ["ann", "bo", "cy", "di"], ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    kind = rng.choice(["host.identity", "host.identity", "canary.status", "mail.egress", "internet.egress",
                       "pii.scan", "agent.heartbeat", "batch.registered"])
    subject_kind, subject_id, key, payload = "host", host, "", {}
    if kind == "host.identity":
        payload = {"hostname": host, "interactive_users": rng.sample(people, rng.randrange(3)),
                   "addresses": rng.sample(addresses, rng.randrange(2))}
        if rng.random() < 0.1:  # stored before ingest checked payloads: no people can be read from it
            payload["interactive_users"] = rng.choice([7, [["ann"]], "bo"])
    elif kind == "canary.status":
        hits = [{"source_address": rng.choice(addresses), "port": rng.choice([25, 443]), "at": at.isoformat()}
                for _ in range(rng.randrange(3))]
        subject_kind, subject_id = "canary", f"c{rng.randrange(2)}"
        payload = {"hit_count": len(hits), "sources": sorted({h["source_address"] for h in hits}), "hits": hits}
    elif kind == "mail.egress":
        payload = {"attempts": [{"target": "canary", "port": 25, "result": rng.choice(["timeout", "connected"])}]}
    elif kind == "internet.egress":
        payload = {"canary": {"target": "canary", "port": 443, "result": rng.choice(["timeout", "connected"])}}
    elif kind == "pii.scan":
        key = rng.choice(["", "watch"])
        payload = {"full": not key, "finished_at": at.isoformat(), "totals": {},
                   "batches": {"b1": rng.randrange(2)}}
    elif kind == "agent.heartbeat":
        payload = {"version": "0.1.0", "interval_s": 3600}
    else:
        subject_kind, subject_id = "batch", "b1"
        payload = {"deadline": (now - timedelta(hours=rng.choice([1, 3, -5]))).isoformat()}
    return Observation(source="t", subject_kind=subject_kind, subject_id=subject_id, kind=kind, key=key,
                       observed_at=at, payload=payload)


def changed_by_judging_from_scratch(store, now: datetime) -> list[tuple]:
    """What a new engine, judging everything the store holds at `now`, finds different from the store's findings."""
    judged_again: list = []
    fresh = Engine(store, list(default_catalog()))
    fresh.listeners.append(judged_again.extend)
    fresh.evaluate(None, now=now)
    return [(c.finding.control, c.finding.subject_id, c.previous_status, c.finding.status, c.finding.reason_en)
            for c in judged_again]


@pytest.mark.parametrize("seed", range(10))
def test_incremental_rounds_give_what_a_full_evaluation_from_scratch_gives(store, seed):
    rng = random.Random(seed)
    now = T0 + timedelta(days=1)
    engine = Engine(store, list(default_catalog()))
    # every subject first, judged in full (a subject's first observation runs only the controls reading it)
    first: dict[tuple[str, str], Observation] = {}
    while len(first) < 8:  # 5 hosts, 2 canaries, 1 batch
        o = random_observation(rng, now)
        first.setdefault(o.subject, o)
    store.ingest(list(first.values()), actor="t", received_at=now)
    engine.note(first.values())
    engine.evaluate(None, now=now)
    for round_ in range(30):
        batch = [random_observation(rng, now) for _ in range(rng.randrange(1, 4))]
        store.ingest(batch, actor="t", received_at=now)
        engine.evaluate(engine.note(batch), now=now)
        differ = changed_by_judging_from_scratch(store, now)
        assert differ == [], f"round {round_}: {batch}"
    with store.derived_rows() as tables:  # and `ledger verify --deep` judges the same from the ledgered history
        deep = verify_derived(tables, list(default_catalog()))
    assert deep.ok, [d.text() for d in deep.differences[:5]]


def identity(host: str, t: datetime, *people: str) -> Observation:
    return Observation(source="t", subject_kind="host", subject_id=host, kind="host.identity", observed_at=t,
                       payload={"hostname": host, "interactive_users": list(people), "addresses": []})


def test_a_hosts_new_identity_re_judges_only_the_hosts_sharing_a_person_with_it(store):
    engine = Engine(store, list(default_catalog()))
    first = [identity("h1", T0, "ann"), identity("h2", T0, "ann"), identity("h3", T0, "bo"),
             identity("h4", T0, "cy")]
    store.ingest(first, actor="t")
    engine.note(first)
    engine.evaluate(None, now=T0)
    statuses = {f.subject_id: f.status for f in store.current_findings(control="DEDICATED-TERMINAL")}
    assert statuses == {"h1": "fail", "h2": "fail", "h3": "pass", "h4": "pass"}
    later = T0 + timedelta(minutes=5)
    moved = [identity("h1", later, "bo")]  # ann left h1 (h2 is hers alone now), bo signed in there too
    store.ingest(moved, actor="t")
    dirty = engine.note(moved)
    assert sorted(s for _, s in dirty) == ["h1", "h2", "h3"]  # not h4: it shares nobody with h1
    engine.evaluate(dirty, now=later)
    statuses = {f.subject_id: f.status for f in store.current_findings(control="DEDICATED-TERMINAL")}
    assert statuses == {"h1": "fail", "h2": "pass", "h3": "fail", "h4": "pass"}


@pytest.mark.parametrize("seed", range(8))
def test_sweeps_that_skip_held_verdicts_give_what_a_full_evaluation_from_scratch_gives(store, seed):
    """As time passes between rounds, a sweep judges again only what the clock or new observations can
    change, and still ends where judging everything from scratch ends."""
    rng = random.Random(seed)
    now = T0 + timedelta(days=1)
    engine = Engine(store, list(default_catalog()))
    first = [random_observation(rng, now) for _ in range(12)]
    store.ingest(first, actor="t", received_at=now)
    engine.note(first)
    engine.evaluate(None, now=now)
    for round_ in range(20):
        now += timedelta(minutes=rng.choice([0, 1, 20, 90, 600]))
        batch = [random_observation(rng, now) for _ in range(rng.randrange(0, 3))]
        store.ingest(batch, actor="t", received_at=now)
        engine.evaluate(engine.note(batch), now=now)
        engine.evaluate(None, now=now)  # the periodic sweep
        differ = changed_by_judging_from_scratch(store, now)
        assert differ == [], f"round {round_} at {now}: {batch}"
    with store.derived_rows() as tables:  # and `ledger verify --deep` judges the same from the ledgered history
        deep = verify_derived(tables, list(default_catalog()))
    assert deep.ok, [d.text() for d in deep.differences[:5]]


def heartbeat(host: str, t: datetime) -> Observation:
    return Observation(source="t", subject_kind="host", subject_id=host, kind="agent.heartbeat", observed_at=t,
                       payload={"version": "0.1.0", "interval_s": 60})


def full_scan(host: str, t: datetime) -> Observation:
    return Observation(source="t", subject_kind="host", subject_id=host, kind="pii.scan", observed_at=t,
                       payload={"full": True, "finished_at": t.isoformat(), "totals": {}, "batches": {}})


def purge_finding(store):
    return [(f.status, f.value["hosts"]) for f in store.current_findings(control="BATCH-PURGED")]


def test_a_heartbeat_re_judges_a_batchs_purge_only_when_it_comes_from_a_host_not_heard_before(store):
    engine = Engine(store, list(default_catalog()))
    batch = Observation(source="t", subject_kind="batch", subject_id="B1", kind="batch.registered",
                        observed_at=T0 - timedelta(days=30), payload={"deadline": (T0 - timedelta(days=1)).isoformat()})
    first = [batch, heartbeat("h1", T0), full_scan("h1", T0), heartbeat("h2", T0), full_scan("h2", T0)]
    store.ingest(first, actor="t")
    engine.note(first)
    engine.evaluate(None, now=T0)
    assert purge_finding(store) == [("pass", 2)]
    later = T0 + timedelta(minutes=1)
    again = [heartbeat("h1", later), heartbeat("h2", later)]  # what every host sends every minute
    store.ingest(again, actor="t")
    dirty = engine.note(again)
    assert ("batch", "B1") not in dirty
    before = engine.checks_run
    engine.evaluate(dirty, now=later)
    assert engine.checks_run - before == 2 * len([c for c in default_catalog() if c.check == "agent_reporting"])
    newcomer = [heartbeat("h3", later)]  # a host with no scan since the deadline: the purge is not proven
    store.ingest(newcomer, actor="t")
    dirty = engine.note(newcomer)
    assert ("batch", "B1") in dirty
    engine.evaluate(dirty, now=later)
    assert purge_finding(store) == [("unknown", 3)]
    engine.evaluate(None, now=later)  # the sweep judges the newcomer's other controls (no data: unknown)
    assert changed_by_judging_from_scratch(store, later) == []


def test_a_steady_sweep_asks_only_the_checks_that_read_the_clock_and_ends_where_the_first_did(store):
    engine = Engine(store, list(default_catalog()))
    hosts = [f"h{i}" for i in range(6)]
    first = [o for h in hosts for o in (heartbeat(h, T0), usb(h, T0, usable=h == "h0"), identity(h, T0, h))]
    store.ingest(first, actor="t")
    engine.note(first)
    engine.evaluate(None, now=T0)
    judged_first = {(f.control, f.subject_id): (f.status, f.reason_en) for f in store.current_findings()}
    before = engine.checks_run
    steady = T0 + timedelta(seconds=30)
    engine.evaluate(None, now=steady)
    reporting = [c.id for c in default_catalog() if c.check == "agent_reporting"]
    assert engine.checks_run - before == len(hosts) * len(reporting)  # the silence since the last heartbeat
    judged_steady = {(f.control, f.subject_id): (f.status, f.reason_en) for f in store.current_findings()}
    assert judged_steady == judged_first
    assert judged_first[("USB-BLOCK", "h0")][0] == "fail" and judged_first[("USB-BLOCK", "h1")][0] == "pass"
    assert changed_by_judging_from_scratch(store, steady) == []


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


def test_a_sweep_asks_a_batchs_purge_again_only_when_the_clock_crosses_its_deadline(store):
    engine = Engine(store, list(default_catalog()))
    deadline = T0 + timedelta(hours=2)
    batch = Observation(source="t", subject_kind="batch", subject_id="B1", kind="batch.registered",
                        observed_at=T0 - timedelta(days=30), payload={"deadline": deadline.isoformat()})
    first = [batch, heartbeat("h1", T0), full_scan("h1", deadline + timedelta(minutes=5))]
    store.ingest(first, actor="t", received_at=deadline + timedelta(minutes=5))
    engine.note(first)

    def sweep(at: datetime) -> tuple[int, str]:
        before = engine.checks_run
        engine.evaluate(None, now=at)
        (purge,) = store.current_findings(control="BATCH-PURGED")
        return engine.checks_run - before, purge.value.get("phase", "after deadline")

    asked_every_sweep = len([c for c in default_catalog() if c.check == "agent_reporting"])  # the host's silence
    sweep(T0)
    assert sweep(T0 + timedelta(hours=1)) == (asked_every_sweep, "in_commission")
    assert sweep(deadline + timedelta(hours=1)) == (asked_every_sweep + 1, "after deadline")
    assert sweep(deadline + timedelta(hours=2)) == (asked_every_sweep, "after deadline")
    assert sweep(T0 + timedelta(hours=1))[1] == "in_commission"  # a clock set back is judged as it says
    assert changed_by_judging_from_scratch(store, T0 + timedelta(hours=1)) == []


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


def test_a_round_asks_exactly_the_rules_reading_the_changed_kinds_in_their_order(store):
    engine = Engine(store, list(default_catalog()))
    for subject_kind, rules in engine.by_subject_kind.items():
        kinds = sorted({k for r in rules for k in r.reads})
        for changed in [set(), {"no.such.kind"}, *({k} for k in kinds), set(kinds[:3]), set(kinds)]:
            expected = [r for r in rules if not changed.isdisjoint(r.reads)]
            assert list(engine._rules_reading(subject_kind, changed)) == expected, (subject_kind, changed)
    assert list(engine._rules_reading("no-such-subject-kind", {"usb.devices"})) == []


@pytest.mark.parametrize("seed", range(10))
def test_a_follower_taking_its_own_rows_as_stored_holds_what_reading_them_back_gives(store, seed):
    """A follower notes the rows it stored itself from what the store answered (IngestResult.newest) instead
    of reading them back: after every look it holds the same latest observations as a follower reading every
    row, which are the store's (repeats, ties of time and the other collector's rows on the same keys)."""
    from tests.stores import another_process

    rng = random.Random(seed)
    now = T0 + timedelta(days=1)
    other = another_process(store)
    try:
        taking, reading = Engine(store, list(default_catalog())), Engine(store, list(default_catalog()))
        own: list = []
        for _ in range(12):
            for _ in range(rng.randrange(1, 4)):
                batch = [random_observation(rng, now) for _ in range(rng.randrange(1, 12))]
                if rng.random() < 0.5:
                    own += store.ingest(batch, actor="t").newest
                else:
                    other.ingest(batch, actor="t")
            own = taking.follow(own)
            reading.follow()
            assert own == []
            assert taking.latest == reading.latest == store.latest_all()
            assert taking.sites == reading.sites and not taking.judging
    finally:
        other.close()


def test_a_follower_keeps_its_own_rows_stored_after_what_it_read_for_its_next_look(store, monkeypatch):
    first, later = store.ingest([usb("h1", T0, True)], actor="t"), store.ingest([usb("h1", T0, False)], actor="t")
    engine = Engine(store, list(default_catalog()))
    engine.high_rowid = 0
    top = first.newest[0][2]
    monkeypatch.setattr(store, "max_observation_rowid", lambda: top)  # the second batch lands after the look
    assert engine.follow(first.newest + later.newest) == later.newest
    assert engine.latest[("host", "h1")][("usb.devices", "")].payload == usb("h1", T0, True).payload
    monkeypatch.undo()
    assert engine.follow(later.newest) == []
    assert engine.latest[("host", "h1")][("usb.devices", "")].payload == usb("h1", T0, False).payload


def test_a_following_worker_hands_its_own_rows_to_its_next_look_and_none_once_it_leads(store, monkeypatch):
    from collector.engine import EngineWorker
    from collector.leadership import SoleLeader

    class Following(SoleLeader):
        def term(self) -> int | None:
            return None

        def leading(self) -> bool:
            return False

    engine = Engine(store, list(default_catalog()))
    worker = EngineWorker(engine, sweep_s=3600, checkpoint_s=3600, leadership=Following())
    worker._follow()  # now following: what it stores is kept for its next look
    first = usb("h1", T0, True)
    stored = store.ingest([first], actor="t")
    worker.submit_encoded(stored.newest)
    assert worker._own == stored.newest and not worker._encoded
    read, skipped = store.latest_since, []
    monkeypatch.setattr(store, "latest_since", lambda rowid, skip=(), upto=None: (
        skipped.append(set(skip)) or read(rowid, skip, upto)))
    worker._follow()
    assert skipped == [{stored.newest[0][2]}]  # not read back from the store
    assert worker._own == [] and engine.latest[("host", "h1")][("usb.devices", "")].id == first.id
    worker.submit_encoded(store.ingest([usb("h1", T0 + timedelta(minutes=1), False)], actor="t").newest)
    worker.leadership = SoleLeader()
    assert worker._in_charge() and worker._own == []  # leading: it reloads everything from the store
