"""Attestations: signed snapshot of a period, immutable, corrected by new ones; contradictions."""
from __future__ import annotations

from datetime import timedelta

import pytest

from collector.engine import Engine
from collector.people import attest
from rules.catalog import default_catalog
from rules.model import Observation
from tests.stores import refusals, tamper


def _recorder(now, stalled: bool) -> Observation:
    return Observation(source="import:calls", subject_kind="call_system", subject_id="recorder-1",
                       kind="calls.audit", observed_at=now, payload={
                           "period_start": (now - timedelta(days=1)).isoformat(), "period_end": now.isoformat(),
                           "calls": 100, "counts": {},
                           "retention": {"ok": True, "primary_oldest": "2023-01-01T00:00:00+08:00",
                                         "backup_oldest": "2023-01-01T00:00:00+08:00",
                                         "first_call": "2023-01-01T00:00:00+08:00"},
                           "recorder": {"last_recording": (now - timedelta(days=2 if stalled else 0)).isoformat(),
                                        "stalled_periods": [{"start": (now - timedelta(hours=20)).isoformat(),
                                                             "end": now.isoformat()}] if stalled else []}})


@pytest.fixture
def history(store, now):
    controls = list(default_catalog())
    engine = Engine(store, controls)
    for i, stalled in enumerate((False, True, False)):
        t = now - timedelta(days=3 - i)
        o = _recorder(t, stalled)
        store.ingest([o], actor="test")
        engine.evaluate(engine.note([o]), now=t)
    return controls


def test_attestation_is_signed_and_in_the_ledger(store, now, history):
    a = attest.attest(store, history, start=now - timedelta(days=4), end=now - timedelta(hours=1),
                      statement="所有人工控制项已按期检查 / manual controls checked", user="manager", now=now,
                      acknowledge_failures=True)
    assert attest.verify(a, store.site_key.public_pem())
    tampered = {**a, "statement": "nothing to see"}
    assert not attest.verify(tampered, store.site_key.public_pem())
    body = store.read.execute("SELECT body FROM ledger WHERE seq = ?", (a["ledger_seq"],)).fetchone()[0]
    assert a["snapshot_sha256"].encode() in body and b'"attestation"' in body


def test_snapshot_hash_changes_with_the_findings_it_covers(store, now, history):
    start, end = now - timedelta(days=4), now - timedelta(hours=1)
    one = attest.snapshot(store, history, start, end)
    engine = Engine(store, history)
    o = _recorder(end - timedelta(minutes=30), True)
    store.ingest([o], actor="test")
    engine.evaluate(engine.note([o]), now=end - timedelta(minutes=30))
    assert attest.snapshot(store, history, start, end) != one


def test_correction_references_the_old_one_which_stays(store, now, history):
    kw = {"start": now - timedelta(days=4), "end": now - timedelta(hours=1), "user": "manager", "now": now,
          "acknowledge_failures": True}
    first = attest.attest(store, history, statement="recorder inspected weekly, all fine", **kw)
    second = attest.attest(store, history, statement="correction: recorder stalled on day 2", corrects=first["id"],
                           **kw)
    rows = attest.history(store)
    assert [r["id"] for r in rows] == [first["id"], second["id"]]
    assert rows[0]["corrected_by"] == second["id"] and rows[1]["corrects"] == first["id"]
    assert rows[0]["statement"] == "recorder inspected weekly, all fine"
    with pytest.raises(refusals(), match="cannot be edited"):
        tamper(store, "UPDATE attestations SET user = 'x'")
    with pytest.raises(attest.AttestError, match="^corrects"):
        attest.attest(store, history, statement="correct a ghost please", corrects=999, **kw)


def test_telemetry_contradicting_a_manual_control_is_returned(store, now, history):
    a = attest.attest(store, history, start=now - timedelta(days=4), end=now - timedelta(hours=1),
                      statement="recorder inspected, working throughout", user="manager",
                      scope=["RECORDER-INSPECTION"], now=now, acknowledge_failures=True)
    found = a["contradiction_list"]
    assert a["contradictions"] == len(found) >= 1
    assert {(c["manual_control"], c["automatic_control"]) for c in found} == {("RECORDER-INSPECTION",
                                                                               "RECORDER-ALIVE")}
    assert found[0]["clauses"] == ["C-3"]


@pytest.mark.parametrize(("kw", "field"), [
    pytest.param({"statement": "ok"}, "statement", id="short-statement"),
    pytest.param({"end_h": 5}, "period", id="period-not-ended"),
    pytest.param({"scope": ["NOPE"]}, "controls", id="unknown-control"),
])
def test_bad_attestations_are_refused(store, now, history, kw, field):
    args = {"start": now - timedelta(days=2), "end": now + timedelta(hours=kw.pop("end_h", -1)),
            "statement": "a long enough statement", "user": "manager", "now": now, **kw}
    with pytest.raises(attest.AttestError, match=f"^{field}"):
        attest.attest(store, history, **args)


def test_signing_needs_the_periods_failures_acknowledged_and_carries_them(store, now, history):
    kw = {"start": now - timedelta(days=4), "end": now - timedelta(hours=1), "user": "manager", "now": now,
          "statement": "manual controls checked"}
    failures = attest.period_failures(store, history, kw["start"], kw["end"])
    assert [(f["control"], f["subject"], f["waivers"]) for f in failures] == [("RECORDER-ALIVE", "recorder-1", [])]
    with pytest.raises(attest.AttestError, match="^acknowledge_failures: the period has 1 failure"):
        attest.attest(store, history, **kw)
    a = attest.attest(store, history, acknowledge_failures=True, **kw)
    assert a["failures_acknowledged"] is True
    assert [(f["control"], f["subject"], f["count"]) for f in a["failures"]] == [("RECORDER-ALIVE", "recorder-1", 1)]
    assert attest.verify(attest.get(store, a["id"]), store.site_key.public_pem())
    assert not attest.verify({**a, "failures": []}, store.site_key.public_pem())  # a failure cannot be dropped


def test_a_waiver_covering_a_failure_is_cited_instead(store, now, history):
    from collector.people import waivers

    w = waivers.approve(store, history, control="RECORDER-ALIVE", subject_kind="call_system", subject_id="*",
                           reason="recorder replaced under warranty", ends_at=now + timedelta(days=30),
                           approver="manager", now=now - timedelta(days=4))
    a = attest.attest(store, history, start=now - timedelta(days=4), end=now - timedelta(hours=1),
                      statement="manual controls checked", user="manager", now=now)
    assert a["failures"][0]["waivers"] == [w.id] and a["failures_acknowledged"] is False


def test_a_reported_value_rfc8785_cannot_express_is_refused_naming_the_snapshot(store, now, history):
    """The snapshot is hashed in RFC 8785 form: a forged validity beyond 2**53 is an error, not a crash."""
    store.ingest([Observation(source="site", subject_kind="site", subject_id="default", kind="manual.evidence",
                              key="FIRE-DRILL", observed_at=now - timedelta(days=1),
                              payload={"control": "FIRE-DRILL", "sha256": "0" * 64, "valid_until": 2**60})],
                 actor="test")
    with pytest.raises(attest.AttestError, match="snapshot: what was reported"):
        attest.attest(store, history, start=now - timedelta(days=3), end=now, statement="all fine this time",
                      user="boss", now=now, acknowledge_failures=True)
