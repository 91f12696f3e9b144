"""Contract: leases, one holder at a time, and finding changes fenced by the holder's term
(collector/store/areas/leases.py LeaseStore)."""
from __future__ import annotations

import threading
import time

import pytest

from collector.store.areas import Fence, LeaseLost
from collector.store.base import FindingChange
from tests.collector.store.conftest import T0, finding, hours

SHORT_S = 0.3  # a time to live the tests wait out


def test_a_lease_is_one_holders_until_it_expires(store):
    assert store.lease_of("engine") is None
    assert store.take_lease("engine", "a", 30) == 1
    assert store.take_lease("engine", "b", 30) is None
    assert store.take_lease("engine", "a", 30) == 1  # renewed in the same term
    holder, term, left_s = store.lease_of("engine")
    assert (holder, term) == ("a", 1) and 25 < left_s <= 30
    assert store.take_lease("other job", "b", 30) == 1  # leases are per name


def test_an_expired_lease_goes_to_the_next_taker_in_a_new_term(store):
    assert store.take_lease("engine", "a", SHORT_S) == 1
    time.sleep(SHORT_S + 0.15)
    assert store.lease_of("engine")[2] <= 0
    assert store.take_lease("engine", "b", 30) == 2
    assert store.take_lease("engine", "a", 30) is None  # the old holder, back too late
    assert store.lease_of("engine")[:2] == ("b", 2)
    # a holder taking its own lease back after it expired starts a new term too
    assert store.take_lease("solo", "a", SHORT_S) == 1
    time.sleep(SHORT_S + 0.15)
    assert store.take_lease("solo", "a", 30) == 2


def test_a_released_lease_is_taken_at_once_and_only_its_holder_releases_it(store):
    assert store.take_lease("engine", "a", 30) == 1
    store.release_lease("engine", "b")  # not b's to release
    assert store.take_lease("engine", "b", 30) is None
    store.release_lease("engine", "a")
    assert store.take_lease("engine", "b", 30) == 2
    store.release_lease("engine", "nobody")
    assert store.lease_of("engine")[:2] == ("b", 2)


def test_finding_changes_under_a_term_that_is_over_are_refused_whole(store):
    first = FindingChange(finding("fail", T0), None, True)
    assert store.take_lease("engine", "a", SHORT_S) == 1
    assert store.record_findings([first], T0, fence=Fence("engine", "a", 1)) == 1
    time.sleep(SHORT_S + 0.15)
    assert store.take_lease("engine", "b", 30) == 2
    head = store.verify_ledger().entries
    late = FindingChange(finding("pass", T0 + hours(1)), "fail", True)
    with pytest.raises(LeaseLost):
        store.record_findings([late], T0 + hours(1), fence=Fence("engine", "a", 1))
    assert [f.status for f in store.current_findings()] == ["fail"]
    assert [i.status for i in store.intervals(control="USB-BLOCK")] == ["fail"]
    assert store.verify_ledger().entries == head
    # the term that runs records, and so does an unfenced writer (a command next to the service)
    assert store.record_findings([late], T0 + hours(1), fence=Fence("engine", "b", 2)) == 1
    again = FindingChange(finding("fail", T0 + hours(2)), "pass", True)
    assert store.record_findings([again], T0 + hours(2)) == 1
    assert store.verify_ledger().ok
    assert [i.status for i in store.intervals(control="USB-BLOCK")] == ["fail", "pass", "fail"]


def test_takers_in_two_processes_at_once_get_one_term(store, same_store_elsewhere):
    takers = [(s, f"{name}-{i}") for i in range(4) for s, name in ((store, "p1"), (same_store_elsewhere, "p2"))]
    start = threading.Barrier(len(takers))
    terms: dict[str, int | None] = {}

    def take(s, holder: str) -> None:
        start.wait()
        terms[holder] = s.take_lease("engine", holder, 30)

    threads = [threading.Thread(target=take, args=t) for t in takers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winners = [h for h, term in terms.items() if term is not None]
    assert len(terms) == len(takers) and len(winners) == 1 and terms[winners[0]] == 1
    assert same_store_elsewhere.lease_of("engine")[:2] == (winners[0], 1)
