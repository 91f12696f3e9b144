"""The simulated CCTV produces what the real detectors and the retention audit say about its frames and store."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collector.simulate.site import SimSite
from collector.simulate.video import cameras

START = datetime(2026, 10, 1, tzinfo=UTC)


def _by(site: SimSite, t: datetime) -> dict[tuple[str, str], dict]:
    return {(o.kind, o.subject_id): o.payload for o in cameras(site, t)}


@pytest.mark.parametrize(("day", "cam", "faults"), [
    pytest.param(5, "cam-05", [], id="healthy"),
    pytest.param(18.5, "cam-05", ["moved"], id="knocked-aside"),
    pytest.param(22.4, "cam-02", ["occluded"], id="covered"),
    pytest.param(25.1, "cam-04", ["blurred"], id="lens-touched"),
])
def test_health_comes_from_the_detectors(day: float, cam: str, faults: list[str]) -> None:
    site = SimSite(start=START)
    p = _by(site, START + timedelta(days=day))[("camera.health", cam)]
    assert p["faults"] == faults and p["online"] is True and p["metrics"]["sharpness"] > 0


def test_short_recorder_fails_retention_others_pass() -> None:
    site = SimSite(start=START)
    obs = _by(site, START + timedelta(days=3, hours=2))
    assert obs[("camera.retention", "cam-03")]["ok"] is False
    assert 40.9 < obs[("camera.retention", "cam-03")]["continuous_days"] < 41.1
    assert obs[("camera.retention", "cam-01")]["ok"] is True
