"""The simulated lifecycle: a leftover export found by the watch, then by full scans, then purged."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from collector.demo import SimSite, snapshot
from rules.catalog import default_catalog
from rules.evaluate import evaluate_one
from rules.registry import load_checks

START = datetime(2026, 10, 1, tzinfo=UTC)


def scans_on(site: SimSite, day: float) -> list:
    t = START + timedelta(days=day)
    return [o for h in range(24) for o in snapshot(site, t + timedelta(hours=h), ["scans"])]


def purge_status(site: SimSite, day: int) -> str:
    """BATCH-PURGED of the first batch (deadline on day 11) judged with the day's scans."""
    batch = next(o for o in snapshot(site, START, ["batches"]) if o.subject_id.endswith("-01"))
    control = next(c for c in default_catalog() if c.id == "BATCH-PURGED")
    now = START + timedelta(days=day, hours=23)
    return evaluate_one(control, load_checks()["batch_purged"], ("batch", batch.subject_id),
                        {("batch.registered", ""): batch}, now,
                        {"pii.scan": scans_on(site, day), "agent.heartbeat": []}).status


def test_watch_finds_the_leftover_and_full_scans_later_prove_the_purge() -> None:
    site = SimSite(terminals=10, start=START)
    watch = [o for o in scans_on(site, 11) if o.key == "watch"]
    assert len(watch) == 1 and watch[0].payload["full"] is False and watch[0].payload["batches"]
    assert purge_status(site, 12) == "fail"
    assert purge_status(site, 15) == "pass"
