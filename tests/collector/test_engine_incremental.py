"""What a round judges again: only the subjects new observations touch (and those sharing a person or a
batch with them), only the rules reading the changed kinds, and in a sweep only the checks the clock can
change; and still always what judging everything from scratch gives."""
import random
from datetime import datetime, timedelta

import pytest

from collector.engine import Engine
from rules.catalog import default_catalog
from rules.model import Observation
from tests.collector.engine_judging import (
    T0,
    assert_the_ledgered_history_judges_the_same,
    changed_by_judging_from_scratch,
    full_scan,
    heartbeat,
    identity,
    random_observation,
    usb,
)


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
    assert_the_ledgered_history_judges_the_same(store)


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
    assert_the_ledgered_history_judges_the_same(store)


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


def test_a_round_asks_exactly_the_rules_reading_the_changed_kinds_in_their_order(store):
    engine = Engine(store, list(default_catalog()))
    for subject_kind, rules in engine.by_subject_kind.items():
        kinds = sorted({k for r in rules for k in r.reads})
        for changed in [set(), {"no.such.kind"}, *({k} for k in kinds), set(kinds[:3]), set(kinds)]:
            expected = [r for r in rules if not changed.isdisjoint(r.reads)]
            assert list(engine._rules_reading(subject_kind, changed)) == expected, (subject_kind, changed)
    assert list(engine._rules_reading("no-such-subject-kind", {"usb.devices"})) == []
