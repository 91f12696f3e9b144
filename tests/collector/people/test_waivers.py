"""Exceptions (waivers): excepted while they run, never pass, end by themselves, cannot be edited."""
from __future__ import annotations

from datetime import timedelta

import pytest

from collector.engine import Engine
from collector.people import waivers
from collector.posture import posture_at
from rules.catalog import default_catalog
from rules.model import Observation
from tests.stores import refusals, tamper


@pytest.fixture
def failing_door(store, now):
    controls = list(default_catalog())
    engine = Engine(store, controls)
    obs = Observation(source="import:access", subject_kind="door", subject_id="main-door", kind="access.audit",
                      observed_at=now - timedelta(hours=1), payload={
                          "period_start": (now - timedelta(days=1)).isoformat(), "period_end": now.isoformat(),
                          "events": 10, "counts": {"door_held_open": 3}, "violations": []})
    store.ingest([obs], actor="test")
    engine.evaluate(engine.note([obs]), now=now)
    failing = [f for f in store.current_findings(subject_id="main-door") if f.status == "fail"]
    assert failing, "the fixture needs a failing door finding"
    return controls, failing[0]


def _subject_status(store, controls, control, at):
    c = next(c for c in posture_at(store, controls, at)["controls"] if c["id"] == control)
    return c["status"], c["subjects"][0]["status"], c["subjects"][0]["measured_status"]


def test_waiver_shows_excepted_until_it_ends(store, now, failing_door):
    controls, f = failing_door
    w = waivers.approve(store, controls, control=f.control, subject_kind="door", subject_id="main-door",
                        reason="door closer replaced on Monday", ends_at=now + timedelta(days=3), approver="manager",
                        owner="facility", now=now)
    assert _subject_status(store, controls, f.control, now + timedelta(hours=1)) == ("excepted", "excepted", "fail")
    assert _subject_status(store, controls, f.control, now + timedelta(days=3, seconds=1))[0] == "fail"
    body = store.read.execute("SELECT body FROM ledger WHERE seq = ?", (w.ledger_seq,)).fetchone()[0]
    assert b'"exception.approved"' in body and b"door closer" in body


def test_waiver_never_turns_a_failure_into_pass(store, now, failing_door):
    controls, f = failing_door
    waivers.approve(store, controls, control=f.control, subject_kind="door", subject_id="*", reason="all doors",
                    ends_at=now + timedelta(days=1), approver="manager", now=now)
    data = posture_at(store, controls, now + timedelta(minutes=5))
    assert all(s["status"] != "pass" for c in data["controls"] if c["id"] == f.control for s in c["subjects"]
               if s["measured_status"] == "fail")


@pytest.mark.parametrize(("kw", "field"), [
    pytest.param({"control": "NOPE"}, "control", id="unknown-control"),
    pytest.param({"subject_kind": "host"}, "subject_kind", id="wrong-kind"),
    pytest.param({"reason": "ok"}, "reason", id="no-reason"),
    pytest.param({"ends_at_days": -1}, "end", id="past-end"),
])
def test_bad_waivers_are_refused(store, now, failing_door, kw, field):
    controls, f = failing_door
    args = {"control": f.control, "subject_kind": "door", "subject_id": "main-door", "reason": "a good reason",
            "ends_at": now + timedelta(days=kw.pop("ends_at_days", 1)), "approver": "manager", "now": now, **kw}
    with pytest.raises(waivers.WaiverError, match=f"^{field}"):
        waivers.approve(store, controls, **args)


def test_waivers_cannot_be_edited(store, now, failing_door):
    controls, f = failing_door
    waivers.approve(store, controls, control=f.control, subject_kind="door", subject_id="main-door",
                    reason="door closer replaced", ends_at=now + timedelta(days=3), approver="manager", now=now)
    with pytest.raises(refusals(), match="cannot be edited"):
        tamper(store, "UPDATE exceptions SET ends_at = ends_at + 86400")
