"""Partial covers on synthetic frames: a still flat surface that appears, against what does not count."""
from __future__ import annotations

import numpy as np
import pytest

from camera.health import Baseline, HealthTracker
from camera.lens_cover import CoverTracker, block_stats, stats_from_json, stats_to_json
from camera.metrics import to_work

H, W = 180, 320


def _room(seed: int, wall: tuple[int, int, int] = (96, 104, 110)) -> np.ndarray:
    """A quiet room: flat walls and floor (most of the view), a shelf with detail, sensor noise."""
    img = np.full((H, W, 3), wall, np.float32)
    img[110:] = (60, 66, 74)
    shelf = np.random.default_rng(0).integers(20, 230, (60, 90, 3))
    img[30:90, 200:290] = shelf
    img[40:100, 20:60] = (140, 130, 120)
    return np.clip(img + np.random.default_rng(seed).normal(0, 2.5, img.shape), 0, 255).astype(np.uint8)


def _cover(frame: np.ndarray, share: float, colour: tuple[int, int, int] = (150, 150, 150)) -> np.ndarray:
    out = frame.copy()
    out[:, W - int(W * share):] = colour
    return out


def _hand(frame: np.ndarray, share: float) -> np.ndarray:
    """A hand close to the lens: smooth, brighter on one side."""
    out = frame.copy()
    x0 = W - int(W * share)
    ramp = np.linspace(90, 170, H)[:, None, None] * np.array([0.7, 0.8, 1.0])[None, None, :]
    out[:, x0:] = np.broadcast_to(ramp, (H, W - x0, 3)).astype(np.uint8)
    return out


def _walker(frame: np.ndarray, i: int) -> np.ndarray:
    """Someone in a flat grey coat crossing the room: large and featureless, but never still."""
    out = frame.copy()
    x = 10 + 12 * i
    out[20:175, x % (W - 120): x % (W - 120) + 120] = (70, 70, 80)
    return out


def _run(make, seconds: float = 6.0, baseline: Baseline | None = None) -> HealthTracker:
    tr = HealthTracker(baseline=baseline or Baseline())
    for i in range(int(seconds * 5)):
        tr.add(i * 0.2, make(i, i * 0.2))
    return tr


@pytest.mark.parametrize(("make", "occluded"), [
    pytest.param(lambda i, t: _room(i), False, id="quiet-room-with-noise"),
    pytest.param(lambda i, t: _cover(_room(i), 0.4) if t >= 1 else _room(i), True, id="box-over-40pct"),
    pytest.param(lambda i, t: _cover(_room(i), 0.3, (40, 40, 48)) if t >= 1 else _room(i), True, id="dark-bag-30pct"),
    pytest.param(lambda i, t: _hand(_room(i), 0.55) if t >= 1 else _room(i), True, id="hand-55pct"),
    pytest.param(lambda i, t: _cover(_room(i), 0.12) if t >= 1 else _room(i), False, id="small-object-12pct"),
    pytest.param(lambda i, t: _walker(_room(i), i) if t >= 1 else _room(i), False, id="person-walking-by"),
    pytest.param(lambda i, t: _cover(_room(i), 0.4) if 1 <= t < 3 else _room(i), False, id="cover-shorter-than-window"),
])
def test_a_still_cover_over_part_of_the_view_is_occluded(make, occluded: bool) -> None:
    tr = _run(make)
    assert ("occluded" in tr.image_faults()) is occluded, tr.metrics()


def test_a_cover_present_from_the_start_is_judged_only_against_the_enrolled_block_map() -> None:
    covered = lambda i, t: _cover(_room(i), 0.45)  # noqa: E731
    assert "occluded" not in _run(covered).image_faults()  # nothing tells it from the room without a baseline
    enrolled = _run(lambda i, t: _room(100 + i), seconds=3).cover.block_map()
    assert enrolled is not None
    blocks = stats_from_json(stats_to_json(enrolled))  # as stored by camera enroll
    assert "occluded" in _run(covered, baseline=Baseline(blocks=blocks)).image_faults()
    assert _run(lambda i, t: _room(i), baseline=Baseline(blocks=blocks)).image_faults() == []


def test_lights_dimmed_since_enrolment_is_not_a_cover() -> None:
    enrolled = _run(lambda i, t: _room(100 + i), seconds=3).cover.block_map()
    dim = lambda i, t: (_room(i) * 0.7).astype(np.uint8)  # noqa: E731
    assert "occluded" not in _run(dim, baseline=Baseline(blocks=enrolled)).image_faults()


def test_a_block_map_of_another_resolution_falls_back_to_the_probe_itself() -> None:
    small = block_stats(_room(1)[:120, :160], to_work(_room(1)[:120, :160]))
    tracker = CoverTracker(enrolled=small)
    fractions = [tracker.update(block_stats(f, to_work(f))) for f in (_room(i) for i in range(6))]
    assert fractions[:4] == [None] * 4 and fractions[5] == 0.0


WARM = (70, 130, 180)  # a beige wall by day (BGR)


def _infrared(frame: np.ndarray) -> np.ndarray:
    """A day/night camera at night: grey, darker, noisier."""
    import cv2

    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32) * 0.8
    return cv2.cvtColor(np.clip(grey, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


@pytest.mark.parametrize(("make", "occluded"), [
    pytest.param(lambda i, t: _infrared(_room(i, WARM)), False, id="night-mode-view"),
    pytest.param(lambda i, t: _infrared(_cover(_room(i, WARM), 0.4)), True, id="night-mode-covered"),
])
def test_a_camera_in_infrared_mode_is_judged_by_grey_levels_against_its_daytime_map(make, occluded: bool) -> None:
    enrolled = _run(lambda i, t: _room(100 + i, WARM), seconds=3).cover.block_map()
    assert ("occluded" in _run(make, baseline=Baseline(blocks=enrolled)).image_faults()) is occluded
