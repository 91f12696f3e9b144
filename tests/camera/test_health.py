"""When a still picture is `frozen`: the rule per source and baseline, on synthetic frames."""
from __future__ import annotations

import numpy as np
import pytest

from camera.health import Baseline, HealthTracker

BASE = np.random.default_rng(0).integers(0, 255, (180, 320, 3), dtype=np.uint8)


def _jitter(seed: int, share: float) -> np.ndarray:
    """The picture with `share` of its pixels one grey level off: sensor noise the encoder mostly kept."""
    if share == 0:
        return BASE.copy()
    rng = np.random.default_rng(seed)
    step = (rng.random(BASE.shape[:2]) < share)[:, :, None].astype(np.int16) * rng.choice([-1, 1], BASE.shape[:2])[
        :, :, None]
    return np.clip(BASE.astype(np.int16) + step, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("floor", "share", "frozen"), [
    pytest.param(None, 0.0, True, id="bit-identical-from-first-frame-is-frozen"),
    pytest.param(None, 0.3, False, id="sensor-noise"),
    pytest.param(None, 0.005, False, id="nearly-still-but-not-identical"),
    pytest.param(0.5, 0.0, True, id="enrolled-bit-identical"),
    pytest.param(0.1, 0.005, True, id="enrolled-clean-camera-below-its-noise-floor"),
    pytest.param(0.1, 0.1, False, id="enrolled-clean-camera-at-its-noise-floor"),
    pytest.param(0.0, 0.0, True, id="enrolled-as-still-bit-identical-is-still-frozen"),
    pytest.param(0.0, 0.005, False, id="enrolled-as-still-nearly-still"),
])
def test_still_picture_is_frozen_with_or_without_a_baseline(floor: float | None, share: float, frozen: bool) -> None:
    """Files and streams alike: a sensor adds noise to every frame, so bit-identical frames are a freeze."""
    tr = HealthTracker(baseline=Baseline(diff_mean=floor))
    for i in range(25):  # 5 s at 5 samples/s, still from the first frame
        tr.add(i * 0.2, _jitter(i, share))
    assert ("frozen" in tr.image_faults()) is frozen, tr.metrics()
    assert tr.metrics()["still_s"] >= 3 or share > 0.01


def _key_frames(i: int, changed_pairs: int) -> np.ndarray:
    """Sample i of a picture re-encoded once a second, changing `changed_pairs` pairs of samples in a row:
    1, a new rendering that stays; 2, one sample off and back (the key frame, then the frame after it);
    4, three samples that keep changing, then a new rendering (that is no longer a frozen picture)."""
    if changed_pairs == 1:
        return _jitter(i // 5, 0.002)
    if changed_pairs == 2:
        return _jitter(i, 0.002) if i % 5 == 0 else BASE.copy()
    return _jitter(i, 0.002) if i % 5 < 3 else _jitter(1000 + i // 5, 0.002)


@pytest.mark.parametrize(("changed_pairs", "frozen"), [
    pytest.param(1, True, id="key-frame-changes-one-pair"),
    pytest.param(2, True, id="key-frame-and-the-frame-after-it"),
    pytest.param(4, False, id="changing-for-longer-than-a-key-frame-ends-the-stretch"),
])
def test_frozen_picture_with_key_frame_blips_is_frozen(changed_pairs: int, frozen: bool) -> None:
    tr = HealthTracker()
    for i in range(25):
        tr.add(i * 0.2, _key_frames(i, changed_pairs))
    assert ("frozen" in tr.image_faults()) is frozen, tr.metrics()
    assert tr.metrics()["frozen_diff_limit"] == 0.0


def test_the_sensor_floor_is_a_setting() -> None:
    """Below the floor a change counts as frozen: for a site whose recorder re-encodes with visible drift."""
    from camera.health import Thresholds

    for floor, frozen in ((0.0, False), (0.01, True)):
        tr = HealthTracker(thresholds=Thresholds(frozen_sensor_floor=floor))
        for i in range(25):
            tr.add(i * 0.2, _jitter(i, 0.002))  # every sample slightly changed: about 0.002 grey levels
        assert ("frozen" in tr.image_faults()) is frozen, (floor, tr.metrics())


def test_a_picture_that_cycles_between_two_renderings_is_frozen() -> None:
    """An encoder fed one picture may settle into two alternating renderings of it: no frame equals the one
    before, but each equals the one before that. A sensor's noise never brings a frame back bit for bit."""
    renderings = [_jitter(1, 0.01), _jitter(2, 0.01)]
    tr = HealthTracker()
    for i in range(25):
        tr.add(i * 0.2, renderings[i % 2])
    assert tr.image_faults() == ["frozen"], tr.metrics()
