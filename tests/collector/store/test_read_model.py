"""Contract: the read models of the pages and reports (collector/store/areas/read_model.py ReadModelStore)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from collector.store.base import FindingChange
from collector.store.sqlite import SqliteStore
from collector.store.web_reads import spans_of
from tests.collector.store.conftest import EPOCH, T0, finding, hours, obs


def test_latest_payloads_by_subject_kind_and_key(store):
    store.ingest([obs(1, payload={"v": 1}), obs(2, t=T0 + hours(1), payload={"v": 2}),
                  obs(3, kind="pii.scan", key="c:", payload={"hits": 3}), obs(4, subject="h2", payload={"v": 4}),
                  obs(5, subject="cam1", subject_kind="camera", kind="camera.health", payload={"ok": True})],
                 actor="t")
    got = store.latest_payloads("host")
    assert got["h1"] == {"usb.devices": (T0.timestamp() + 3600, {"v": 2}),
                         "pii.scan:c:": (T0.timestamp(), {"hits": 3})}
    assert set(got) == {"h1", "h2"}
    assert set(store.latest_payloads("host", ["pii.scan"])) == {"h1"}
    assert set(store.latest_payloads("host", subject_id="h2")) == {"h2"}
    assert set(store.latest_payloads("host", subject_ids=["h2", "h9"])) == {"h2"}
    assert store.last_seen("camera") == {"cam1": T0.timestamp()}


def test_payload_history_newest_first_within_limit(store):
    store.ingest([obs(i, t=T0 + hours(i), payload={"i": i}) for i in range(5)]
                 + [obs(9, kind="other.kind", t=T0)], actor="t")
    got = store.payload_history("host", ["usb.devices"], T0 + hours(1), limit=3)
    assert [(r.observed_at, r.payload["i"], r.until, r.times) for r in got] == [
        ((T0 + hours(i)).timestamp(), i, (T0 + hours(i)).timestamp(), 1) for i in (4, 3, 2)]
    assert got[0][1:4] == ("h1", "usb.devices", "00000000-0000-0000-0000-000000000004")


def test_history_and_means_count_the_repeats_of_an_unchanged_fact(store):
    """A fact reported unchanged every 10 minutes for 5 hours is stored once with repeats: the history shows it
    present until its last report, seen 31 times, even when it was first reported before the period; a chart
    of it has a value in every hour it was reported, not only in the first."""
    store.ingest([obs(i, subject="u1", subject_kind="ups", kind="ups.status", t=T0 + timedelta(minutes=10 * i),
                      payload={"battery_runtime_s": 3000}) for i in range(31)], actor="t")
    last = (T0 + hours(5)).timestamp()
    [row] = store.payload_history("ups", ["ups.status"], T0)
    assert (row.observed_at, row.until, row.times) == (T0.timestamp(), last, 31)
    [later] = store.payload_history("ups", ["ups.status"], T0 + hours(2))  # begun before the period
    assert (later.observed_at, later.until, later.times) == (T0.timestamp(), last, 31)
    assert store.payload_history("ups", ["ups.status"], T0 + hours(6)) == []  # not seen since
    means = store.payload_means("ups", "ups.status", ["battery_runtime_s"], T0, 3600)
    b0 = T0.timestamp() // 3600 * 3600
    assert means["u1"]["battery_runtime_s"] == [(b0 + 3600 * h, 3000.0) for h in range(6)]
    assert store.payload_history("host", ["usb.devices"], T0, subject_id="h2") == []


def test_payload_means_per_bucket_and_series_in_order(store):
    store.ingest([obs(i, subject="r1", subject_kind="zone", kind="room.climate", t=T0 + hours(i / 2),
                      payload={"temp_c": 20 + i, "rh": "n/a" if i else 40}) for i in range(4)], actor="t")
    means = store.payload_means("zone", "room.climate", ["temp_c"], T0, 3600)
    b0 = T0.timestamp() // 3600 * 3600
    assert means["r1"]["temp_c"] == [(b0, 20.5), (b0 + 3600, 22.5)]
    series = store.payload_series("room.climate", T0, T0 + hours(1))
    assert [(s, p["temp_c"]) for s, _, p in series] == [("r1", 20), ("r1", 21)]
    assert store.payload_series("room.climate", T0, T0 + hours(9), site="elsewhere") == []


def test_payload_means_average_numbers_only_whatever_a_sender_forged(store):
    sent = {"r1": [{"temp_c": "hot"}, {"temp_c": True}, {"temp_c": {"v": 9}}, {"temp_c": 20}],
            "r2": [{"temp_c": 20, "note": "a\x00b"}, {"temp_c": 22}],  # NUL: JSON's \u0000, refused by PostgreSQL's
            "r3": [{"temp_c": 1e308}, {"temp_c": 1e308}]}
    store.ingest([obs(10 * n + i, subject=room, subject_kind="zone", kind="room.climate", t=T0 + hours(i / 8),
                      payload=p) for n, (room, ps) in enumerate(sent.items()) for i, p in enumerate(ps)], actor="t")
    means = store.payload_means("zone", "room.climate", ["temp_c"], T0, 3600)
    b0 = T0.timestamp() // 3600 * 3600
    assert means["r1"]["temp_c"] == [(b0, 20.0)]
    assert means["r2"]["temp_c"] == [(b0, 21.0)]
    [(_, huge)] = means["r3"]["temp_c"]  # a sum beyond a double's range: infinite or exact, never an error
    assert huge >= 1e308


def test_events_counts_and_acks(store):
    t1 = T0 + hours(1)
    store.record_findings([FindingChange(finding("pass", T0), None, True)], T0)
    store.record_findings([FindingChange(finding("fail", t1), "pass", True)], t1)
    store.record_event("alert.acked", "user:ann", {"c": 1}, ts=t1 + hours(1), subject=("host", "h1"),
                       site="default", detail='{"by":"ann"}', control="USB-BLOCK", status="fail")
    assert [e.to_status for e in store.events(EPOCH)] == ["fail"]  # the first finding of a subject is left out
    assert [e.to_status for e in store.events(EPOCH, first_only=False)] == ["fail", "pass"]
    assert store.events(EPOCH, until=T0 + hours(0.5), first_only=False)[0].to_status == "pass"
    assert store.change_counts(EPOCH, t1 + hours(1)) == {("pass", "fail"): 1}
    [ack] = store.alert_acks()
    assert (ack.control, ack.subject_id, ack.detail) == ("USB-BLOCK", "h1", '{"by":"ann"}')
    assert store.recent_events("alert.acked", 10) == [((t1 + hours(1)).timestamp(), "USB-BLOCK", "default",
                                                       '{"by":"ann"}')]
    assert store.has_event("alert.acked", "USB-BLOCK", "default", '{"by":%')
    assert not store.has_event("alert.acked", "USB-BLOCK", "default", '{"by":"bob%')


def test_recent_changes_leave_out_first_findings_among_other_types(store):
    """The dashboard's changes of a day: first findings left out however many there are, other types of
    events (which have no first) kept beside the changes, newest first; no type, no event."""
    t1 = T0 + hours(1)
    store.record_findings([FindingChange(finding("pass", T0, subject=f"h{i}"), None, True) for i in range(50)], T0)
    store.record_findings([FindingChange(finding("fail", t1, subject="h7"), "pass", True)], t1)
    store.record_event("alert.acked", "user:ann", {"c": 1}, ts=t1 + hours(1), subject=("host", "h7"),
                       site="default", detail="{}", control="USB-BLOCK", status="fail")
    [change] = store.events(EPOCH, limit=40)
    assert (change.subject_id, change.from_status, change.to_status) == ("h7", "pass", "fail")
    both = store.events(EPOCH, types=["finding.changed", "alert.acked"], limit=40)
    assert [(e.type, e.subject_id) for e in both] == [("alert.acked", "h7"), ("finding.changed", "h7")]
    assert len(store.events(EPOCH, types=["finding.changed", "alert.acked"], first_only=False, limit=100)) == 52
    assert store.events(EPOCH, until=t1, limit=40) == []
    assert store.events(EPOCH, types=[]) == []
    assert store.change_counts(EPOCH, t1 + hours(2)) == {("pass", "fail"): 1}


def test_finding_evidence_of_the_shown_subjects_only(store):
    store.record_findings([FindingChange(finding("fail", T0, subject=s, subject_kind=k), None, True)
                           for s, k in [("h1", "host"), ("h2", "host"), ("h1", "camera")]], T0)
    store.record_findings([FindingChange(finding("pass", T0, control="OTHER", subject="h2"), None, True)], T0)
    assert store.finding_evidence("USB-BLOCK", ["h1", "h9"]) == {("host", "h1"): ["obs-1"],
                                                                ("camera", "h1"): ["obs-1"]}
    assert store.finding_evidence("USB-BLOCK", []) == {}
    assert store.finding_evidence("USB-BLOCK", [f"x{i}" for i in range(1200)] + ["h2"]) == {("host", "h2"): ["obs-1"]}


def test_finding_reads_now_and_then(store):
    t1 = T0 + hours(1)
    store.record_findings([FindingChange(finding("fail", T0), None, True),
                           FindingChange(finding("pass", T0, subject="h2"), None, True),
                           FindingChange(finding("unknown", T0, control="AV-ON", subject="h2"), None, True)], T0)
    store.record_findings([FindingChange(finding("pass", t1), "fail", True)], t1)
    assert sorted(store.finding_counts()) == [("AV-ON", "default", "unknown", 1), ("USB-BLOCK", "default", "pass", 2)]
    assert sorted(store.finding_counts(T0 + hours(0.5))) == [
        ("AV-ON", "default", "unknown", 1), ("USB-BLOCK", "default", "fail", 1), ("USB-BLOCK", "default", "pass", 1)]
    assert store.open_subjects("USB-BLOCK", "host", None) == []
    assert store.open_subjects("USB-BLOCK", "host", None, T0 + hours(0.5)) == [("default", "h1", "fail")]
    assert store.open_subjects("AV-ON", "host", "h1") == []
    assert store.open_subjects("AV-ON", "host", "h2") == [("default", "h2", "unknown")]
    assert store.status_spans("fail", T0.timestamp(), t1.timestamp()) == [("USB-BLOCK", T0.timestamp(),
                                                                          t1.timestamp())]
    assert store.status_spans("fail", t1.timestamp() + 1, t1.timestamp() + 2) == []
    assert store.status_span_counts("fail", [T0.timestamp() - 1, T0.timestamp(), t1.timestamp()]) == [
        ("USB-BLOCK", 1, 2, 1)]
    assert sorted(store.status_span_counts("unknown", [t1.timestamp(), t1.timestamp() + 1])) == [("AV-ON", 0, 2, 1)]
    per, overall = store.host_statuses(["USB-BLOCK"])
    assert {h: s["USB-BLOCK"].status for h, s in per.items()} == {"h1": "pass", "h2": "pass"}
    assert overall == {"h1": "pass", "h2": "unknown"}  # the worst of all its controls
    lean = store.findings_in(controls=["USB-BLOCK"], statuses=["pass"])
    assert sorted(f.subject_id for f in lean) == ["h1", "h2"] and lean[0].value == {} and lean[0].evidence == []
    [full] = store.findings_in(subject_kinds=["host"], controls=["AV-ON"], with_value=True)
    assert (full.value, full.evidence, full.reason_en) == ({"v": "unknown"}, ["obs-1"], "en unknown")


def test_thumbnails_evidence_names_and_batch_sites(store):
    png = store.put_evidence(b"\x89PNG...", "cam1.png", "image/png")
    txt = store.put_evidence(b"log", "cam2.txt", "text/plain")
    r1 = store.ingest([obs(1, subject="cam1", subject_kind="camera", kind="camera.health", evidence=[png]),
                       obs(2, subject="cam2", subject_kind="camera", kind="camera.health", evidence=[txt])], actor="t")
    r2 = store.ingest([obs(3, site="b")], actor="t")
    assert store.camera_thumbnails() == {"cam1": png.sha256}
    assert store.evidence_meta(png.sha256) == ("cam1.png", "image/png")
    assert store.evidence_meta("0" * 64) is None
    assert sorted(store.batch_sites(r1.ledger_seq, r2.ledger_seq)) == [(r1.ledger_seq, "default"), (r2.ledger_seq, "b")]
    assert store.batch_sites(r2.ledger_seq + 1, r2.ledger_seq + 9) == []


def test_events_dropped_count_the_events_compaction_dropped_per_day(store):
    from collector.store.compaction import compact
    from collector.store.retention import load_policy
    from rules.catalog import default_catalog

    # USB blocks, each its own key: four arrive on the first day, two on the second, one on the third
    for i, h in enumerate((1, 5, 9, 13, 25, 30, 50)):
        store.ingest([obs(100 + i, kind="usb.block", key=f"1-2@{h}", t=T0 + hours(h), payload={"h": h})],
                     actor="agent:test", received_at=T0 + hours(h))
    compact(store, load_policy().with_raw_days(1), list(default_catalog()), T0 + hours(72))
    # beyond the window (the first two days) each day keeps its first event and counts the others
    assert store.events_dropped("host", "h1", ["usb.block"], T0) == [("2026-11-02", "usb.block", 1),
                                                                     ("2026-11-01", "usb.block", 3)]
    assert store.events_dropped("host", "h1", ["usb.block"], T0 + hours(24)) == [("2026-11-02", "usb.block", 1)]
    assert store.events_dropped("host", "h2", ["usb.block"], T0) == []
    # the keys dropped whole lost their `latest` rows: the page's observed values list the kept ones only
    assert sorted(store.latest_payloads("host", ["usb.block"])["h1"]) == \
        ["usb.block:1-2@1", "usb.block:1-2@25", "usb.block:1-2@50"]


@pytest.mark.sqlite_file
def test_the_trends_spans_are_read_from_their_index_alone(tmp_path):
    """SQLite migration 17: a bad month's tens of thousands of failing spans, not a row of the table each, from
    an index of failing and unknown spans only."""
    store = SqliteStore(tmp_path / "cw.db")
    for status in ("fail", "unknown"):
        plan = store.read.execute("EXPLAIN QUERY PLAN " + spans_of(status), (status, 1, status, 0, 1)).fetchall()
        searches = [row[-1] for row in plan if "finding_intervals" in row[-1]]
        assert len(searches) == 2 and all("USING COVERING INDEX fi_failing_end" in s for s in searches), searches
    store.close()


@pytest.mark.sqlite_file
def test_a_subjects_intervals_are_found_by_the_subject(tmp_path):
    """SQLite migration 18 (PostgreSQL 13): a subject page's history of every control, by the subject, not a
    walk of every interval of the site through fi_subject (control first)."""
    store = SqliteStore(tmp_path / "cw.db")
    captured: list[str] = []
    store.read.set_trace_callback(captured.append)
    store.intervals(subject=("host", "h1"), start=T0)
    store.read.set_trace_callback(None)
    sql = next(s for s in captured if "FROM finding_intervals" in s)
    plan = [row[-1] for row in store.read.execute("EXPLAIN QUERY PLAN " + sql).fetchall()]
    assert any("USING INDEX fi_of_subject (subject_kind=? AND subject_id=?)" in p for p in plan), plan
    store.close()
