"""The simulated site behind `clausewatch demo`: valid observations and the violations it promises."""
from datetime import UTC, datetime, timedelta

from collector.demo import SimSite, snapshot
from collector.demo.run import write_history
from collector.engine import Engine
from rules.catalog import default_catalog
from rules.model import Observation


def test_every_simulated_observation_is_valid():
    site = SimSite(terminals=5, cameras=4)
    for hours in (0, 1, 2, 22, 23, 24 * 9 + 1):
        for o in snapshot(site, site.start + timedelta(hours=hours)):
            Observation.model_validate(o.model_dump())


def test_a_month_of_history_shows_the_planted_violations(store):
    end = datetime(2026, 11, 29, tzinfo=UTC)
    site = SimSite(terminals=10, cameras=4, start=end - timedelta(days=30))  # hourly: the outage lasts 86 min
    engine = Engine(store, list(default_catalog()))
    assert write_history(store, engine, site, end, step=timedelta(hours=1)) > 10_000
    failed = {iv.control for iv in store.intervals() if iv.status == "fail"}
    for control in ("USB-BLOCK", "AV-FRESH", "MAIL-EGRESS-BLOCKED", "DEDICATED-TERMINAL", "AGENT-REPORTING",
                    "CCTV-RETENTION", "CAMERA-HEALTHY", "ZONE-COVERED", "UPS-RUNTIME", "CLIMATE-RANGE",
                    "DOOR-CLOSED", "MACHINE-ROOM-ENTRY", "BATCH-PURGED", "CALLING-HOURS",
                    "EXTINGUISHER-MACHINE-ROOM", "AGENT-SEQUENCE"):
        assert control in failed, control
    # every check ran a month of every kind of day: none read a parameter it does not declare
    assert [iv.control for iv in store.intervals() if "undeclared_param" in iv.value] == []
    assert store.verify_ledger().ok
