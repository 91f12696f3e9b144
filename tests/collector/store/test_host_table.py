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


def _joined_order(store, columns, sort, descending):
    """The order as the statement before this one gave it: each source aggregated, then their hosts joined."""
    rank = "CASE {} WHEN 'fail' THEN 0 WHEN 'unknown' THEN 1 WHEN 'pass' THEN 2 WHEN 'not_applicable' THEN 3 ELSE 4 END"
    every = [c for cs in columns.values() for c in cs]
    marks = lambda n: ",".join("?" * n)  # noqa: E731
    ranks = ", ".join(f"min(CASE WHEN control IN ({marks(len(cs))}) THEN {rank.format('status')} END) AS c{i}"
                      for i, cs in enumerate(columns.values()))
    overall = "COALESCE(bad.worst, CASE WHEN cols.host IS NULL THEN 'unknown' ELSE 'pass' END)"
    way, host = " DESC" if descending else "", f"e.host{store._by_code_point}"
    names = dict(zip(columns, (f"c{i}" for i in range(len(columns))), strict=True))
    order = {"status": f"{rank.format(overall)}{way}, {host}{way}",
             "last_seen": f"COALESCE(s.last_seen, 0){way}, {host}", "host": f"{host}{way}",
             **{name: f"COALESCE(cols.{c}, 4){way}, {host}{way}" for name, c in names.items()}}[sort]
    sql = (f"WITH cols AS (SELECT subject_id AS host, {ranks} FROM findings WHERE subject_kind = 'host'"
           f" AND control IN ({marks(len(every))}) GROUP BY subject_id), bad AS (SELECT subject_id AS host,"
           " min(status) AS worst FROM findings WHERE status IN ('fail', 'unknown') AND subject_kind = 'host'"
           " GROUP BY subject_id), everyone AS (SELECT id AS host FROM subjects WHERE kind = 'host' UNION"
           " SELECT host FROM cols UNION SELECT host FROM bad)"
           f" SELECT e.host, {overall} AS status FROM everyone e LEFT JOIN cols ON cols.host = e.host"
           " LEFT JOIN bad ON bad.host = e.host LEFT JOIN subjects s ON s.kind = 'host' AND s.id = e.host"
           f" ORDER BY {order}")
    return [tuple(r) for r in store.read.execute(sql, [*every, *every])]


def _random_site(store, rng):
    """Hosts seen at a few moments (ties), judged and never seen, seen and never judged, with only other
    controls' findings, ids that differ in case only, odd statuses, and a camera judged by a column's control."""
    ids = [f"{p}{n}" for p in ("h", "H", "t-", "t.", "0") for n in range(12)]
    seen = rng.sample(ids, 30)
    first = rng.randrange(10**9)  # a new observation id for each row
    store.ingest([obs(first + i, subject=h, t=T0 + hours(rng.choice([1, 2, 3]))) for i, h in enumerate(seen)],
                 actor="t")
    store.ingest([obs(first + 99, subject="cam1", subject_kind="camera")], actor="t")
    controls = ["USB-BLOCK", "AV-RUNNING", "AV-FRESH", "OTHER", "OTHER-2"]
    statuses = ["fail", "unknown", "pass", "pass", "not_applicable", "odd"]
    judged = rng.sample(ids, 40) + ["cam1"]
    store.record_findings([FindingChange(finding(rng.choice(statuses), T0, control=c, subject=h,
                                                 subject_kind="camera" if h == "cam1" else "host"), None, True)
                           for h in judged for c in rng.sample(controls, rng.randint(1, 4))], T0)


def test_host_order_is_the_joined_statements_order_on_random_sites(store):
    """Every sort, both ways, the same hosts in the same order with the same statuses as the statement this
    one replaced, over three random sites added one upon the other."""
    import random

    columns = {**COLUMNS, "other": ["OTHER"]}
    for seed in range(3):
        _random_site(store, random.Random(seed))
        for sort in ("host", "status", "last_seen", *columns):
            for descending in (False, True):
                assert store.host_order(columns, sort, descending) == _joined_order(store, columns, sort, descending), \
                    (seed, sort, descending)
