"""The terminal table orders hosts the same whether the store orders them (a plain page) or the page's
own sort does (a search, which needs every host's names): one table, whichever way it was asked."""
import random
from datetime import UTC, datetime, timedelta

import pytest

from collector.store.base import FindingChange, StoredFinding
from collector.web.views.terminals import COLUMNS, SORTS, _searched
from rules.model import Observation

T0 = datetime(2026, 11, 1, tzinfo=UTC)
STATUSES = ("pass", "fail", "unknown", "not_applicable", "odd")


def _site(store) -> None:
    """60 hosts: some never seen, some seen at the same moment, each with a random set of findings."""
    pick = random.Random(7)
    hosts = [f"{pick.choice('Tt')}{i:03d}" for i in range(60)]
    store.ingest([Observation(source="t", subject_kind="host", subject_id=h, kind="agent.heartbeat",
                              observed_at=T0 + timedelta(minutes=pick.randrange(3)),
                              payload={"version": f"1.{pick.randrange(3)}"}) for h in hosts[10:]], actor="t")
    controls = [c for cs in COLUMNS.values() for c in cs] + ["OTHER-1", "OTHER-2"]
    store.record_findings([
        FindingChange(StoredFinding(c, "host", h, "default", pick.choice(STATUSES), T0, T0, {}, "zh", "en", [],
                                    "high"), None, True)
        for h in hosts[:55] for c in controls if pick.random() < 0.4], T0)


@pytest.mark.parametrize("sort", [s for s in SORTS if s != "version"])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("status", ["", "fail", "unknown", "pass"])
def test_the_store_orders_hosts_as_the_search_does(store, sort, descending, status):
    _site(store)
    ordered = store.host_order(COLUMNS, sort, descending)
    hosts, total = _searched(store, "", sort, descending, status)
    assert total == len(ordered) == 60
    assert hosts == [h for h, st in ordered if not status or st == status]
