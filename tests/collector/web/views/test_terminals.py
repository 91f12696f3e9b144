"""The terminal table's hosts: searched by id, host name, addresses and agent version, filtered by status
and ordered by the store or, for versions, by the page; counted over every host."""
from datetime import UTC, datetime

import pytest

from collector.store.base import FindingChange, StoredFinding
from collector.web.views.terminals import matching_hosts
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
