"""Camera faults from sampled frames: a fault is reported only when it persists over a window.

Reference-free detectors: black, frozen, blurred (absolute sharpness floor, or the camera's own
baseline when enrolled), occluded, low_fps, offline. `moved` needs a reference frame.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from camera.lens_cover import BlockStats, CoverTracker, block_stats
from camera.metrics import FrameMetrics, measure, to_work
from camera.moved import ReferenceView, ViewShift

OCCLUDED_BASELINE_MARGIN = 0.25
NOISE_FLOOR_SHARE = 0.25  # a picture changing less than this share of the camera's enrolled noise is still
NOISE_FLOOR_MIN = 0.02  # an enrolled change below this: the encoder erased the noise, so only the sensor floor applies
CRISP_SCALE_RATIO = 1.2
# a key frame re-encoding a still picture changes it a little, and the frame predicted from it again:
# up to two samples in a row that differ slightly do not end a still stretch
KEY_FRAME_SAMPLES = 2
# an encoder fed one picture over and over may settle into a cycle of two or three renderings of it; a sensor's
# noise never brings back an earlier frame bit for bit, so a sample equal to any of these last ones is a repeat
REPEAT_LOOKBACK = 3
FAULTS = ("offline", "low_fps", "black", "frozen", "blurred", "occluded", "moved")


@dataclass
class Thresholds:
    window_s: float = 3.0  # a fault must hold this long (or over the whole probe when shorter)
    black_luma_max: float = 18.0
    black_std_max: float = 6.0
    frozen_diff_max: float = 0.05  # mean grey-level change between samples a second or less apart
    frozen_blip_max: float = 1.5  # a key frame re-encoding a still picture changes it less than this
    frozen_motion_min: float = 0.2  # two samples in a row changing more than this: the picture was live
    # without motion or an enrolled noise floor: a change at or below this is frozen, whatever the source (file
    # or stream). No sensor makes decoded frames that change less over the window; 0: bit-identical frames only
    frozen_sensor_floor: float = 0.0
    blurred_sharpness_min: float = 150.0  # Laplacian variance floor when the camera has no baseline
    blurred_scale_ratio_min: float = 0.9  # Laplacian variance at full over half size; sharp scenes keep >= 1.5
    blurred_baseline_ratio_min: float = 0.15  # share of the enrolled sharpness a focused camera keeps
    occluded_uniform_fraction_max: float = 0.6
    occluded_cover_fraction_min: float = 0.25  # a still flat surface that appeared over this share of the view
    low_fps_min: float = 8.0
    low_fps_nominal_ratio_min: float = 0.6  # with a nominal rate: measured / nominal
    moved_shift_max: float = 0.04  # displacement of the view centre, share of the frame diagonal
    moved_scale_max: float = 0.08
    moved_rotation_deg_max: float = 3.0


@dataclass
class Baseline:
    """What the camera looks like when healthy, from `camera enroll`."""

    sharpness: float | None = None
    luma_mean: float | None = None
    diff_mean: float | None = None  # change between samples when healthy: > 0 means the picture is never still
    sharpness_scale_ratio: float | None = None
    uniform_fraction: float | None = None  # a view of a bare wall is flat without being covered
    blocks: BlockStats | None = None  # per-block colour and texture of the healthy view (camera.lens_cover)


@dataclass
class _Run:
    """The current and the longest stretch of consecutive samples showing one condition.

    A sample stands for half the time to its neighbours on each side, so n samples `p` apart span n * p
    seconds; a condition about a pair of samples (`since_s`, e.g. no change since the last one) spans
    exactly the time between them.
    """

    start_s: float | None = None
    longest_s: float = 0.0
    tolerate: int = 0  # isolated samples without the condition that do not end the stretch
    _misses: int = 0
    _prev_t: float | None = None

    def reset(self) -> None:
        self.start_s, self._misses = None, 0

    def update(self, t_s: float, on: bool, since_s: float | None = None) -> None:
        half = (t_s - self._prev_t) / 2 if self._prev_t is not None else 0.0
        self._prev_t = t_s
        if not on:
            self._misses += 1
            if self._misses > self.tolerate:
                self.start_s = None
            return
        self._misses = 0
        if self.start_s is None:
            self.start_s = since_s if since_s is not None else t_s - half
        end = t_s if since_s is not None else t_s + half
        self.longest_s = max(self.longest_s, end - self.start_s)


@dataclass
class HealthTracker:
    """Feed sampled frames in time order; `faults()` says what persisted."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    baseline: Baseline = field(default_factory=Baseline)
    reference: ReferenceView | None = None
    moved_every_s: float = 0.5
    samples: list[FrameMetrics] = field(default_factory=list)
    shifts: list[ViewShift] = field(default_factory=list)
    runs: dict[str, _Run] = field(
        default_factory=lambda: {f: _Run(tolerate=KEY_FRAME_SAMPLES if f in ("frozen", "still") else 0)
                                 for f in (*FAULTS, "still")})
    motion_seen: bool = False
    _moving_streak: int = 0
    _prev: np.ndarray | None = None
    # the last REPEAT_LOOKBACK samples (working copy, frame), newest first
    _recent: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    _prev_t: float | None = None
    _last_moved_t: float | None = None
    first_s: float | None = None
    last_s: float = 0.0

    def __post_init__(self) -> None:
        self.cover = CoverTracker(enrolled=self.baseline.blocks)

    def add(self, t_s: float, frame: np.ndarray) -> FrameMetrics:
        grey = to_work(frame)
        m = measure(grey, self._prev)
        m.cover_fraction = self.cover.update(block_stats(frame, grey))
        if self.first_s is None:
            self.first_s = t_s
        soft = self._is_blurred(m)
        black, occluded = self._is_black(m), self._is_occluded(m, soft)
        blurred = soft and not (black or occluded)
        # a picture without detail cannot show change or position: those faults explain it first
        hidden = black or occluded or blurred
        self.runs["black"].update(t_s, black)
        self.runs["occluded"].update(t_s, occluded and not black)
        self.runs["blurred"].update(t_s, blurred)
        if m.diff_mean is not None:
            # equal frames have equal working copies, which are much smaller to compare first
            identical = any(np.array_equal(grey, g) and np.array_equal(frame, f) for g, f in self._recent)
            self._track_still(t_s, m.diff_mean, identical, hidden)
        if self.reference is not None and (self._last_moved_t is None
                                           or t_s - self._last_moved_t >= self.moved_every_s):
            self._last_moved_t = t_s
            shift = self.reference.compare(frame)
            self.shifts.append(shift)
            self.runs["moved"].update(t_s, self._is_moved(shift) and not hidden)
        self.samples.append(m)
        self._recent = [(grey, frame.copy()), *self._recent[:REPEAT_LOOKBACK - 1]]
        self._prev, self._prev_t, self.last_s = grey, t_s, t_s
        return m

    def frozen_limit(self) -> float:
        """The change between samples at or below which a still picture is `frozen` (bit-identical decoded
        frames always are).

        1. Motion was seen in this probe: the picture was live, so a stop is a freeze (frozen_diff_max).
        2. An enrolled noise floor (the healthy change between samples) of at least NOISE_FLOOR_MIN: a quarter
           of it, at most frozen_diff_max.
        3. Otherwise, a file or a stream alike: frozen_sensor_floor. A camera's sensor adds noise to every frame,
           so frames that stay bit-identical for the window come from a frozen camera, encoder or recorder.
        """
        th = self.thresholds
        if self.motion_seen:
            return th.frozen_diff_max
        floor = self.baseline.diff_mean
        if floor is not None and floor >= NOISE_FLOOR_MIN:
            return min(th.frozen_diff_max, NOISE_FLOOR_SHARE * floor)
        return th.frozen_sensor_floor

    def _track_still(self, t_s: float, diff: float, identical: bool, hidden: bool) -> None:
        """`still`: the picture does not change (reported as still_s); `frozen`: still below frozen_limit."""
        th = self.thresholds
        self._moving_streak = self._moving_streak + 1 if diff > th.frozen_motion_min else 0
        self.motion_seen = self.motion_seen or self._moving_streak >= 2
        for name, cap in (("still", th.frozen_diff_max), ("frozen", self.frozen_limit())):
            if hidden or diff > th.frozen_blip_max:
                self.runs[name].reset()
            else:
                # a recorder re-encoding a still picture changes it a little at each key frame (KEY_FRAME_SAMPLES)
                self.runs[name].update(t_s, identical or (cap > 0 and diff <= cap), since_s=self._prev_t)

    def _is_black(self, m: FrameMetrics) -> bool:
        th = self.thresholds
        return m.luma_mean <= th.black_luma_max and m.luma_std <= th.black_std_max

    def _is_occluded(self, m: FrameMetrics, soft: bool) -> bool:
        th = self.thresholds
        if not soft and m.cover_fraction is not None and m.cover_fraction >= th.occluded_cover_fraction_min:
            return True  # part of the view went flat and still, while the rest stays sharp (a defocus flattens all)
        limit = th.occluded_uniform_fraction_max
        if self.baseline.uniform_fraction is not None:  # the cover must add to what is flat in the healthy view
            limit = max(limit, min(0.95, self.baseline.uniform_fraction + OCCLUDED_BASELINE_MARGIN))
        return m.uniform_fraction >= limit

    def _is_blurred(self, m: FrameMetrics) -> bool:
        th = self.thresholds
        soft = m.sharpness_scale_ratio < th.blurred_scale_ratio_min
        if self.baseline.sharpness:
            # a camera whose healthy picture is itself soft is judged by its loss of sharpness alone
            crisp = (self.baseline.sharpness_scale_ratio or 0.0) >= CRISP_SCALE_RATIO
            return m.sharpness < th.blurred_baseline_ratio_min * self.baseline.sharpness or (soft and crisp)
        return m.sharpness < th.blurred_sharpness_min or soft

    def _is_moved(self, s: ViewShift) -> bool:
        th = self.thresholds
        if not s.matched:
            return True
        return (s.shift > th.moved_shift_max or abs(s.scale - 1.0) > th.moved_scale_max
                or abs(s.rotation_deg) > th.moved_rotation_deg_max)

    def required_s(self) -> float:
        """The persistence window, shortened to the probe's span when the probe is shorter."""
        span = self.last_s - (self.first_s or 0.0)
        return min(self.thresholds.window_s, 0.9 * span) if span > 0 else self.thresholds.window_s

    def image_faults(self) -> list[str]:
        need = self.required_s()
        if not self.samples or need <= 0:
            return []
        return [f for f in FAULTS if f not in ("offline", "low_fps") and self.runs[f].longest_s >= need - 1e-6]

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.samples:
            for name in ("luma_mean", "luma_std", "sharpness", "sharpness_scale_ratio", "uniform_fraction"):
                out[name] = round(float(np.median([getattr(s, name) for s in self.samples])), 4)
            for name in ("diff_mean", "cover_fraction"):
                seen = [getattr(s, name) for s in self.samples if getattr(s, name) is not None]
                if seen:
                    out[name] = round(float(np.median(seen)), 4)
        if self.baseline.sharpness:
            out["sharpness_baseline"] = round(self.baseline.sharpness, 2)
        if self.baseline.diff_mean is not None:
            out["noise_floor"] = round(self.baseline.diff_mean, 4)
        out["frozen_diff_limit"] = self.frozen_limit()  # 0: only bit-identical frames count as frozen
        if self.shifts:
            worst = max(self.shifts, key=lambda s: (not s.matched, s.shift))
            out.update(moved_shift=round(worst.shift, 4), moved_scale=round(worst.scale, 4),
                       moved_rotation_deg=round(worst.rotation_deg, 2), moved_inliers=worst.inliers)
        for fault, run in self.runs.items():
            if fault not in ("offline", "low_fps"):
                out[f"{fault}_s"] = round(run.longest_s, 2)
        return out


def threshold_metrics(th: Thresholds) -> dict[str, float]:
    """The thresholds, named as they appear next to the measured metrics."""
    return {k: float(v) for k, v in vars(th).items()}


def fps_fault(fps: float, th: Thresholds, nominal_fps: float | None) -> bool:
    if nominal_fps:
        return fps < th.low_fps_nominal_ratio_min * nominal_fps
    return fps < th.low_fps_min
