"""Simulated terminals and canary: what the demo shows must be what a real agent and canary send."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collector.demo.hosts import canary, hosts
from collector.demo.site import SimSite
from rules.catalog import default_catalog
from rules.evaluate import evaluate

START = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize("day, status", [
    pytest.param(10, "pass", id="before any violation"),
    pytest.param(16, "fail", id="mail canary reached"),
    pytest.param(17.5, "fail", id="a day after the last hit"),
    pytest.param(19, "pass", id="window over"),
])
def test_canary_status_follows_the_terminals_that_got_through(day: float, status: str) -> None:
    site = SimSite(start=START)
    t = START + timedelta(days=day)
    results = evaluate(list(default_catalog()), canary(site, t), t)
    assert [(r.control, r.status) for r in results] == [("EGRESS-CANARY-QUIET", status)]


def test_blocked_sticks_leave_usb_block_evidence_and_snapshots_are_deterministic() -> None:
    site = SimSite(start=START)
    blocks = []
    for h in range(0, 24 * 10, 6):
        t = START + timedelta(hours=h)
        snap = hosts(site, t)
        assert [o.id for o in snap] == [o.id for o in hosts(site, t)]
        blocks += [o for o in snap if o.kind == "usb.block"]
    assert blocks and all(b.payload["action"] == "deauthorized" and b.payload["latency_ms"] < 50 for b in blocks)
