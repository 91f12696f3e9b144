"""The simulated CCTV produces what the real detectors and the retention audit say about its frames and store."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest

from camera.metrics import to_work, uniform_fraction
from collector.demo.site import SimSite
from collector.demo.video import cameras

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


@pytest.mark.parametrize("minute", [0, 20, 59])
def test_simulated_recorder_is_recording_whenever_it_is_scanned(minute: int) -> None:
    """A healthy demo recorder writes the current segment: its newest footage is now, at any minute of the hour."""
    site = SimSite(start=START)
    obs = _by(site, START + timedelta(days=3, hours=2, minutes=minute))
    for cam in site.camera_ids:
        p = obs[("camera.retention", cam)]
        assert p["recording_lag_s"] == 0 and not p["gaps"], cam


def _image(site: SimSite, ref) -> np.ndarray:
    ref_, content = site.attachments[ref.sha256]
    image = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and ref_ == ref
    return image


def _red_share(image: np.ndarray) -> float:
    return float((np.abs(image.astype(np.int16) - (0x6e, 0x74, 0xf0)).max(axis=2) <= 12).mean())


@pytest.mark.parametrize(("day", "blind"), [
    pytest.param(5, [], id="all-covered"),
    pytest.param(22.4, ["floor-2"], id="covered-camera-leaves-blind-spot"),
])
def test_every_camera_sends_a_thumbnail_and_the_site_a_floor_plan(day: float, blind: list[str]) -> None:
    site = SimSite(start=START)
    obs = cameras(site, START + timedelta(days=day))
    health = [o for o in obs if o.kind == "camera.health"]
    assert len(health) == site.cameras
    for o in health:
        [ref] = o.evidence
        assert ref.media_type == "image/jpeg" and ref.name == f"{o.subject_id}.jpg"
        assert _image(site, ref).shape == (180, 320, 3)
    [plan] = [o for o in obs if o.kind == "camera.floorplan"]
    svg, png = plan.evidence
    assert (svg.media_type, png.media_type) == ("image/svg+xml", "image/png")
    assert plan.payload["blind_spots"] == blind
    assert b'data-zone="floor-2"' in site.attachments[svg.sha256][1]
    assert (_red_share(_image(site, png)) > 0.05) is bool(blind)


def test_a_covered_camera_thumbnail_shows_the_cover() -> None:
    site = SimSite(start=START)
    covered = _by_obs(site, START + timedelta(days=22.4))["cam-02"]
    healthy = _by_obs(site, START + timedelta(days=5))["cam-02"]
    # the same flatness measure the detector uses: most of the covered picture is one flat surface
    assert uniform_fraction(to_work(_image(site, covered))) > 0.6 > uniform_fraction(to_work(_image(site, healthy)))


def _by_obs(site: SimSite, t: datetime):
    return {o.subject_id: o.evidence[0] for o in cameras(site, t) if o.kind == "camera.health"}


def test_history_stores_the_pictures_the_cameras_page_shows(store) -> None:
    from collector.demo.run import write_history
    from collector.engine import Engine
    from collector.web.views.cameras import thumbnails
    from rules.catalog import default_catalog

    site = SimSite(terminals=2, cameras=4, start=START)
    write_history(store, Engine(store, list(default_catalog())), site, START + timedelta(hours=3),
                  step=timedelta(hours=1))
    thumbs = thumbnails(store)
    assert sorted(thumbs) == site.camera_ids
    assert all((store.get_evidence(sha) or b"")[:2] == b"\xff\xd8" for sha in thumbs.values())
    [plan] = store.observations(kind="camera.floorplan", limit=1)
    assert (store.get_evidence(plan.evidence[1].sha256) or b"")[:4] == b"\x89PNG"
