"""Queries behind the pages, against a real SQLite store."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collector.store.base import FindingChange, StoredFinding
from collector.web import readmodel
from collector.web.views.alerts import record_ack


def _finding(control: str, subject: str, status: str, at) -> StoredFinding:
    return StoredFinding(control, "host", subject, "default", status, at, at, {"x": 1}, "原因", "reason", [], "high")


def _record(store, control, subject, status, at, previous):
    store.record_findings([FindingChange(_finding(control, subject, status, at), previous, True)], at)


def test_trend_counts_failing_subjects_at_the_end_of_each_day(store, now):
    start = now - timedelta(days=5)
    _record(store, "USB-BLOCK", "T1", "pass", start, None)
    _record(store, "USB-BLOCK", "T1", "fail", now - timedelta(days=3, hours=1), "pass")
    _record(store, "USB-BLOCK", "T1", "pass", now - timedelta(days=1, hours=1), "fail")
    _record(store, "USB-BLOCK", "T2", "fail", now - timedelta(hours=2), None)
    counts = readmodel.trend(store, now, days=5)["USB-BLOCK"]
    # samples at now-4d .. now: T1 failed over now-3d and now-2d, T2 fails at now
    assert counts == [0, 1, 1, 0, 1]


def test_findings_filter_and_leave_value_out_unless_asked(store, now):
    _record(store, "USB-BLOCK", "T1", "fail", now, None)
    _record(store, "AV-RUNNING", "T1", "pass", now, None)
    light = readmodel.findings(store, statuses=["fail"])
    assert [(f.control, f.subject_id, f.value) for f in light] == [("USB-BLOCK", "T1", {})]
    full = readmodel.findings(store, controls=["AV-RUNNING"], with_value=True)
    assert full[0].value == {"x": 1} and full[0].reason_en == "reason"


def test_changes_since_skip_first_findings_and_count_transitions(store, now):
    _record(store, "USB-BLOCK", "T1", "pass", now - timedelta(hours=3), None)
    _record(store, "USB-BLOCK", "T1", "fail", now - timedelta(hours=2), "pass")
    since = now - timedelta(days=1)
    events = readmodel.events(store, since)
    assert [(e.from_status, e.to_status) for e in events] == [("pass", "fail")]


def test_ack_lands_in_the_ledger_and_is_the_newest_per_finding(store, now):
    _record(store, "USB-BLOCK", "T1", "fail", now, None)
    before = store.ledger.last_seq
    seq = record_ack(store, "user:security", "security", "USB-BLOCK", "host", "T1", "default", "fail", "on it")
    assert seq == before + 1
    ack = readmodel.acks(store)[("USB-BLOCK", "host", "T1")]
    assert "on it" in ack.detail
    assert store.verify_ledger().ok


def test_counts_at_a_past_moment_come_from_the_history(store, now):
    _record(store, "USB-BLOCK", "T1", "pass", now - timedelta(days=3), None)
    _record(store, "USB-BLOCK", "T1", "fail", now - timedelta(days=1), "pass")
    assert readmodel.finding_counts(store) == [("USB-BLOCK", "default", "fail", 1)]
    assert readmodel.finding_counts(store, now - timedelta(days=2)) == [("USB-BLOCK", "default", "pass", 1)]
    assert readmodel.finding_counts(store, now - timedelta(days=4)) == []
    counts = readmodel.change_counts(store, now - timedelta(days=2), now)
    assert counts == {("pass", "fail"): 1}


def test_host_overall_status_counts_controls_outside_the_table_columns(store, now):
    _record(store, "USB-BLOCK", "T1", "pass", now, None)
    _record(store, "AGENT-REPORTING", "T1", "fail", now, None)  # not a column, still makes the host fail
    _record(store, "USB-BLOCK", "T2", "pass", now, None)
    _record(store, "USB-BLOCK", "T3", "unknown", now, None)
    per, overall = readmodel.host_statuses(store, ["USB-BLOCK"])
    assert overall == {"T1": "fail", "T2": "pass", "T3": "unknown"}
    assert per["T1"]["USB-BLOCK"].status == "pass" and "AGENT-REPORTING" not in per["T1"]


@pytest.mark.parametrize(("subject", "expected"), [
    pytest.param("*", {("fail", 0), ("unknown", 0), ("excepted", 2), ("pass", 1)}, id="every-subject"),
    pytest.param("T1", {("fail", 0), ("unknown", 1), ("excepted", 1), ("pass", 1)}, id="one-subject"),
    pytest.param("T3", {("fail", 1), ("unknown", 1), ("excepted", 0), ("pass", 1)}, id="passing-subject-unchanged"),
])
def test_waived_counts_show_excepted_never_pass(store, subject, expected):
    from collector.people import waivers
    from rules.catalog import default_catalog

    at = datetime.now(UTC) - timedelta(minutes=1)
    for host, status in (("T1", "fail"), ("T2", "unknown"), ("T3", "pass")):
        _record(store, "USB-BLOCK", host, status, at, None)
    waivers.approve(store, list(default_catalog()), control="USB-BLOCK", subject_kind="host", subject_id=subject,
                       reason="terminals being replaced", ends_at=at + timedelta(days=2), approver="boss")
    counts = readmodel.waived_counts(store, readmodel.finding_counts(store))
    by_status = {st: n for c, _, st, n in counts if c == "USB-BLOCK"}
    assert {(st, by_status.get(st, 0)) for st in ("fail", "unknown", "excepted", "pass")} == expected
    shown = {f.subject_id: f.status for f in readmodel.waive(store, store.current_findings(control="USB-BLOCK"))}
    assert shown["T3"] == "pass" and list(shown.values()).count("excepted") == by_status.get("excepted", 0)


def test_waived_counts_at_a_past_moment_ignore_a_later_waiver(store):
    from collector.people import waivers
    from rules.catalog import default_catalog

    start = datetime.now(UTC) - timedelta(hours=3)
    _record(store, "USB-BLOCK", "T1", "fail", start, None)
    waivers.approve(store, list(default_catalog()), control="USB-BLOCK", subject_kind="host", subject_id="T1",
                       reason="terminal being replaced", ends_at=start + timedelta(days=2), approver="boss")
    before = start + timedelta(hours=1)  # the waiver was approved only now
    past = readmodel.waived_counts(store, readmodel.finding_counts(store, before), before)
    assert [(c, st, n) for c, _, st, n in past] == [("USB-BLOCK", "fail", 1)]
    current = readmodel.waived_counts(store, readmodel.finding_counts(store, datetime.now(UTC)), datetime.now(UTC))
    assert [(c, st, n) for c, _, st, n in current] == [("USB-BLOCK", "excepted", 1)]



def _random_intervals(rng, samples: list[float]) -> list[tuple]:
    """Intervals around the samples: open and closed, starting and ending on a sample, a microsecond either
    side of one, before the first and after the last, of no length and ending before their start."""
    def moment() -> float:
        at = rng.choice(samples) + rng.choice([0.0, 0.0, 1e-6, -1e-6, 2e-6, rng.uniform(-86400, 86400)])
        return at if rng.random() < 0.9 else rng.uniform(samples[0] - 5 * 86400, samples[-1] + 5 * 86400)

    rows = []
    for i in range(400):
        start = moment()
        end = None if rng.random() < 0.3 else rng.choice([start, start - 1.0, moment(), start + rng.uniform(0, 9e5)])
        rows.append((rng.choice(["USB-BLOCK", "AV-RUNNING", "AV-FRESH"]), "host", f"T{i}", "default",
                     rng.choice(["fail", "fail", "unknown", "pass"]), start, end, "{}", "原因", "reason", "[]", None))
    return rows


def _trend_counted_day_by_day(rows: list[tuple], samples: list[float], status: str) -> dict[str, list[int]]:
    """readmodel.trend by its definition: at each sample, the spans of `status` begun by then and not yet ended
    (a span ending within a microsecond after a sample no longer counts at it)."""
    spans = [(r[0], r[5], r[6]) for r in rows
             if r[4] == status and r[5] <= samples[-1] and (r[6] is None or r[6] > samples[0])]
    return {control: [sum(1 for c, start, end in spans if c == control and start <= s
                          and (end is None or s <= end - 1e-6)) for s in samples]
            for control in {c for c, _, _ in spans}}


@pytest.mark.parametrize("seed", range(4))
def test_trend_matches_a_count_at_each_day_on_random_spans(store, now, seed):
    import random

    rng = random.Random(seed)
    now = now + timedelta(microseconds=rng.randrange(10**6))
    days = rng.choice([1, 2, 7, 30])
    samples = [(now - timedelta(days=days - 1 - i)).timestamp() for i in range(days)]
    rows = _random_intervals(rng, samples)
    with store.write() as conn:
        conn.executemany("INSERT INTO finding_intervals (control, subject_kind, subject_id, site, status, start,"
                         " end, value, reason_zh, reason_en, evidence, ledger_seq)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    for status in ("fail", "unknown", "pass"):
        assert readmodel.trend(store, now, days, status) == _trend_counted_day_by_day(rows, samples, status)
