"""Contract: the terminal table's reads (collector/store/host_table.py), ordered as the page shows them."""
from __future__ import annotations

from collector.store.base import FindingChange
from tests.collector.store.conftest import T0, finding, hours, obs


def test_host_statuses_of_every_host_or_of_a_page(store):
    """Each host's findings of the columns' controls, and the worst of all its findings: `pass` for a host with
    a finding of the columns and none failing or unknown, none for a host with other findings only."""
    store.record_findings([FindingChange(finding(st, T0, control=c, subject=h), None, True) for h, c, st in [
        ("h1", "AV-RUNNING", "pass"), ("h1", "AV-FRESH", "fail"), ("h1", "USB-BLOCK", "not_applicable"),
        ("h2", "AV-FRESH", "unknown"), ("h2", "OTHER", "fail"),
        ("h3", "USB-BLOCK", "pass"), ("h3", "AV-RUNNING", "odd"),
        ("h4", "OTHER", "unknown"), ("h5", "OTHER", "pass"),
        ("c1", "USB-BLOCK", "fail")]], T0)
    store.record_findings([FindingChange(finding("fail", T0, control="USB-BLOCK", subject="cam9",
                                                 subject_kind="camera"), None, True)], T0)
    per, overall = store.host_statuses(["USB-BLOCK", "AV-RUNNING", "AV-FRESH", "MAIL"])
    assert {h: sorted(cs) for h, cs in per.items()} == {"h1": ["AV-FRESH", "AV-RUNNING", "USB-BLOCK"],
                                                        "h2": ["AV-FRESH"], "h3": ["AV-RUNNING", "USB-BLOCK"],
                                                        "c1": ["USB-BLOCK"]}
    assert overall == {"h1": "fail", "h2": "fail", "h3": "pass", "h4": "unknown", "c1": "fail"}
    per, some = store.host_statuses(["AV-RUNNING", "AV-FRESH"], ["h1", "h4", "h9"])
    assert {h: {c: s.status for c, s in cs.items()} for h, cs in per.items()} == {
        "h1": {"AV-RUNNING": "pass", "AV-FRESH": "fail"}}
    assert some == {"h1": "fail", "h4": "unknown"}
    assert store.host_statuses(["USB-BLOCK"], []) == ({}, {})


COLUMNS = {"usb": ["USB-BLOCK"], "av": ["AV-RUNNING", "AV-FRESH"]}


def test_host_order_sorts_every_host_seen_or_judged(store):
    """Hosts seen and never judged, judged and never seen, and ids that a language's collation would order
    otherwise (upper case before lower, as the page's Python sort compares them)."""
    store.ingest([obs(i, subject=h, t=T0 + hours(n)) for i, (h, n) in enumerate(
        [("b2", 3), ("B1", 1), ("a3", 2), ("seen-only", 1)])], actor="t")
    store.record_findings([FindingChange(finding(st, T0, control=c, subject=h), None, True) for h, c, st in [
        ("b2", "USB-BLOCK", "fail"), ("b2", "AV-FRESH", "pass"),
        ("B1", "USB-BLOCK", "pass"), ("B1", "OTHER", "unknown"),
        ("a3", "AV-RUNNING", "unknown"), ("a3", "USB-BLOCK", "pass"),
        ("judged-only", "OTHER", "fail"), ("z9", "USB-BLOCK", "not_applicable")]], T0)
    status = {"b2": "fail", "B1": "unknown", "a3": "unknown", "seen-only": "unknown", "judged-only": "fail",
              "z9": "pass"}

    def order(sort, descending=False):
        got = store.host_order(COLUMNS, sort, descending)
        assert [st for _, st in got] == [status[h] for h, _ in got], got
        return [h for h, _ in got]

    assert order("host") == ["B1", "a3", "b2", "judged-only", "seen-only", "z9"]
    assert order("host", True) == ["z9", "seen-only", "judged-only", "b2", "a3", "B1"]
    assert order("status") == ["b2", "judged-only", "B1", "a3", "seen-only", "z9"]
    assert order("status", True) == ["z9", "seen-only", "a3", "B1", "judged-only", "b2"]
    # by the worst of the column; hosts without a finding of it last, by host
    assert order("usb") == ["b2", "B1", "a3", "z9", "judged-only", "seen-only"]
    assert order("av") == ["a3", "b2", "B1", "judged-only", "seen-only", "z9"]
    assert order("av", True) == ["z9", "seen-only", "judged-only", "B1", "b2", "a3"]
    # never seen first; a tie keeps hosts in order both ways
    assert order("last_seen") == ["judged-only", "z9", "B1", "seen-only", "a3", "b2"]
    assert order("last_seen", True) == ["b2", "a3", "B1", "seen-only", "judged-only", "z9"]
