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


@pytest.mark.parametrize(("live", "floor", "share", "frozen"), [
    pytest.param(False, None, 0.0, False, id="file-still-from-first-frame-not-judged"),
    pytest.param(True, None, 0.0, True, id="live-bit-identical-is-frozen"),
    pytest.param(True, None, 0.3, False, id="live-with-sensor-noise"),
    pytest.param(True, None, 0.005, False, id="live-nearly-still-but-not-identical"),
    pytest.param(False, 0.5, 0.0, True, id="enrolled-file-bit-identical"),
    pytest.param(True, 0.1, 0.005, True, id="enrolled-clean-camera-below-its-noise-floor"),
    pytest.param(True, 0.1, 0.1, False, id="enrolled-clean-camera-at-its-noise-floor"),
    pytest.param(True, 0.0, 0.0, False, id="enrolled-still-picture-says-nothing"),
])
def test_still_picture_is_frozen_by_the_rule_for_its_source(live: bool, floor: float | None, share: float,
                                                            frozen: bool) -> None:
    tr = HealthTracker(live=live, baseline=Baseline(diff_mean=floor))
    for i in range(25):  # 5 s at 5 samples/s, still from the first frame
        tr.add(i * 0.2, _jitter(i, share))
    assert ("frozen" in tr.image_faults()) is frozen, tr.metrics()
    assert tr.metrics()["still_s"] >= 3 or share > 0.01


def test_live_frozen_picture_with_key_frame_blips_is_frozen() -> None:
    tr = HealthTracker(live=True)
    for i in range(25):
        tr.add(i * 0.2, _jitter(i // 5, 0.002))  # identical within each second, a small blip at each key frame
    assert tr.image_faults() == ["frozen"], tr.metrics()
    assert tr.metrics()["frozen_diff_limit"] == 0.0
