"""The terminal table's hosts: searched by id, host name, addresses and agent version, filtered by status
and ordered by the store or, for versions, by the page; counted over every host."""
from datetime import UTC, datetime

import pytest

from collector.store.base import FindingChange, StoredFinding
from collector.web import readmodel
from collector.web.views.terminals import _add_facts, matching_hosts, search_texts
from rules.model import Observation

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _site(store) -> None:
    reports = [("T001", "agent.heartbeat", {"version": "1.2"}),
               ("T001", "host.identity", {"hostname": "CS-Floor1", "addresses": ["10.20.1.1", "fe80::1"]}),
               ("T002", "host.identity", {"hostname": "cs-floor2", "addresses": "10.20.1.2", "agent_version": "1.10"}),
               ("T003", "agent.heartbeat", {"version": 7}),  # forged: a number, not text
               ("t004", "agent.heartbeat", {"version": "1.2"}),
               ("T005", "pii.scan", {"totals": {"id_card": 3}})]
    store.ingest([Observation(source="t", subject_kind="host", subject_id=h, kind=k, observed_at=T0, payload=p)
                  for h, k, p in reports], actor="t")
    store.record_findings([FindingChange(StoredFinding(c, "host", h, "default", st, T0, T0, {}, "zh", "en", [],
                                                       "high"), None, True)
                           for h, c, st in [("T001", "USB-BLOCK", "fail"), ("T002", "USB-BLOCK", "pass"),
                                            ("t004", "AV-FRESH", "pass"), ("T006", "OTHER", "unknown")]], T0)


@pytest.mark.parametrize(("q", "status", "hosts"), [
    pytest.param("", "", ["T001", "T003", "T005", "T006", "T002", "t004"], id="everyone, worst first"),
    pytest.param("t00", "", ["T001", "T003", "T005", "T006", "T002", "t004"], id="ids in any case"),
    pytest.param("floor", "", ["T001", "T002"], id="host names in any case"),
    pytest.param("10.20.1.1, fe80", "", ["T001"], id="addresses as the page shows them"),
    pytest.param("1.1", "", ["T001", "T002"], id="version from identity and address"),
    pytest.param("7", "", ["T003"], id="a forged number"),
    pytest.param("t00", "pass", ["T002", "t004"], id="search and status"),
    pytest.param("nothing", "", [], id="no match"),
])
def test_search_matches_what_the_page_shows(store, q, status, hosts):
    _site(store)
    assert matching_hosts(store, q, "status", False, status) == (hosts, 6)


def test_versions_sort_as_text_and_keep_hosts_of_one_version_in_order(store):
    _site(store)
    assert matching_hosts(store, "", "version", False, "")[0] == ["T005", "T006", "T002", "T001", "t004", "T003"]
    assert matching_hosts(store, "", "version", True, "")[0] == ["T003", "T001", "t004", "T002", "T005", "T006"]


# forged and foreign names, as agents on the watched machines may send them
HOSTILE = [("H-sigma", "host.identity", {"hostname": "ΣΑΣ-Θ", "addresses": [1, None, {"a": "B"}]}),
           ("H-dotted", "host.identity", {"hostname": "İSTANBUL", "addresses": "100%_ok"}),
           ("H-sharp", "agent.heartbeat", {"version": "ẞ-2"}),
           ("H-object", "host.identity", {"hostname": {"Name": "X"}, "addresses": 0, "agent_version": True}),
           ("H-nul", "host.identity", {"hostname": "a\x00b", "addresses": ["10.0.0.%"]}),
           ("h_under", "agent.heartbeat", {"version": 12.5})]
QUERIES = ["σας", "ς", "Σ", "i̇st", "ist", "%", "_", "100%_", "%_o", "ß", "ẞ", "'name': 'x'", "true", "none",
           "{'a': 'b'}", "\x00", "a\x00b", "12.5", "0", "h_", "h-", "1, none", "t00"]


def _shown_fields(store, hosts):
    """What the table shows of each host, read the way the page reads it."""
    rows = [{"host": h} for h in hosts]
    _add_facts(rows, readmodel.host_facts(store, hosts=None, kinds=readmodel.NAMING_KINDS))
    return {r["host"]: [r[k] for k in ("host", "hostname", "addresses", "version")] for r in rows}


def test_search_of_forged_and_foreign_names_matches_as_python_lower_cases(store):
    """Non-ASCII case (a final sigma, a dotted capital I, a capital sharp s), `%` and `_` as plain text,
    numbers, objects, a NUL: a host matches when a shown field, lower-cased, holds the lower-cased query."""
    _site(store)
    store.ingest([Observation(source="t", subject_kind="host", subject_id=h, kind=k, observed_at=T0, payload=p)
                  for h, k, p in HOSTILE], actor="t")
    everyone = matching_hosts(store, "", "host", False, "")[0]
    shown = _shown_fields(store, everyone)
    for q in QUERIES:
        want = [h for h in everyone if any(q.lower() in str(v).lower() for v in shown[h])]
        assert matching_hosts(store, q, "host", False, "")[0] == want, q
    assert matching_hosts(store, "ς", "host", False, "")[0] == ["H-sigma"]  # ΣΑΣ lower-cases to σας
    assert matching_hosts(store, "%", "host", False, "")[0] == ["H-dotted", "H-nul"]
    assert matching_hosts(store, "_", "host", False, "")[0] == ["H-dotted", "h_under"]


def test_search_follows_a_renamed_host(store):
    """A new name is found and the old one no longer, once the host reports it; unchanged hosts keep
    the texts made at the first search."""
    _site(store)
    assert matching_hosts(store, "floor2", "host", False, "")[0] == ["T002"]
    store.ingest([Observation(source="t", subject_kind="host", subject_id="T002", kind="host.identity",
                              observed_at=T0.replace(hour=1), payload={"hostname": "Lobby", "addresses": []})],
                 actor="t")
    assert matching_hosts(store, "floor2", "host", False, "")[0] == []
    assert matching_hosts(store, "lobby", "host", False, "")[0] == ["T002"]
    assert store.refresh_host_search(["T001", "T002", "T005"], readmodel.NAMING_KINDS, search_texts) == 0
    assert store.refresh_host_search(["T009"], readmodel.NAMING_KINDS, search_texts) == 1  # never searched yet
