"""Per-frame image measurements on a small grey working copy of each sampled frame.

Every number is computed on a grey image scaled to WORK_WIDTH_PX so that thresholds mean the same
at any camera resolution and the cost per frame stays small (well above 150 frames/s per core).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

WORK_WIDTH_PX = 320
BLOCK_PX = 10  # side of the square blocks the frame is cut into for flatness
FLAT_BLOCK_STD = 3.5  # a block this smooth shows no texture at all (a cover, a cap, a black frame)
UNIFORM_SPREAD = 10.0  # flat blocks within this many grey levels of each other are one surface
CHANGED_LEVELS = 12  # a pixel moved by more than this many grey levels between samples changed


@dataclass
class FrameMetrics:
    luma_mean: float
    luma_std: float
    sharpness: float  # variance of the Laplacian
    sharpness_scale_ratio: float  # Laplacian variance at full over half working size: low when defocused
    uniform_fraction: float  # share of the frame covered by one flat surface of one grey level
    diff_mean: float | None = None  # mean absolute change from the previous sample
    changed_fraction: float | None = None  # share of pixels that changed from the previous sample
    cover_fraction: float | None = None  # share hidden by a surface that is not in the reference (camera.lens_cover)

    def as_dict(self) -> dict[str, float | None]:
        return asdict(self)


def to_work(frame: np.ndarray) -> np.ndarray:
    """BGR or grey frame -> grey image WORK_WIDTH_PX wide (area-averaged, which also tames sensor noise)."""
    grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    h, w = grey.shape
    if w == WORK_WIDTH_PX:
        return grey
    height = max(1, round(h * WORK_WIDTH_PX / w))
    return cv2.resize(grey, (WORK_WIDTH_PX, height), interpolation=cv2.INTER_AREA)


def block_mean_std(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each BLOCK_PX square (rows x cols arrays; the ragged edge is left out).
    Area resampling by a whole factor averages each block exactly, much faster than numpy's reductions."""
    h, w = grey.shape
    rows, cols = h // BLOCK_PX, w // BLOCK_PX
    if rows == 0 or cols == 0:
        return np.zeros((rows, cols), np.float32), np.zeros((rows, cols), np.float32)
    crop = grey[: rows * BLOCK_PX, : cols * BLOCK_PX].astype(np.float32)
    means = cv2.resize(crop, (cols, rows), interpolation=cv2.INTER_AREA)
    squares = cv2.resize(crop * crop, (cols, rows), interpolation=cv2.INTER_AREA)
    return means, np.sqrt(np.maximum(squares - means * means, 0.0))


def uniform_fraction(grey: np.ndarray) -> float:
    """Largest share of the frame that is flat and of one grey level: what a cover over the lens looks like."""
    means, stds = block_mean_std(grey)
    if means.size == 0:
        return 0.0
    bh, bw = means.shape
    flat = means[stds < FLAT_BLOCK_STD]
    if flat.size == 0:
        return 0.0
    # the densest window of UNIFORM_SPREAD grey levels among the flat blocks
    hist = np.bincount(np.clip(flat, 0, 255).astype(np.int32), minlength=256)
    window = np.convolve(hist, np.ones(int(UNIFORM_SPREAD) + 1, dtype=np.int64), mode="same")
    return float(window.max()) / float(bh * bw)


def laplacian_var(grey: np.ndarray) -> float:
    _, lap_std = cv2.meanStdDev(cv2.Laplacian(grey, cv2.CV_16S, ksize=3))
    return float(lap_std[0][0]) ** 2


def measure(grey: np.ndarray, previous: np.ndarray | None = None) -> FrameMetrics:
    """Measurements of one working-size grey frame, and its change from the previous sample."""
    mean, std = cv2.meanStdDev(grey)
    sharpness = laplacian_var(grey)
    # a sharp edge stays as steep at half size; a blurred one gets twice as steep, so the ratio falls
    half = laplacian_var(cv2.pyrDown(grey))
    m = FrameMetrics(luma_mean=float(mean[0][0]), luma_std=float(std[0][0]), sharpness=sharpness,
                     sharpness_scale_ratio=sharpness / half if half > 0 else 0.0,
                     uniform_fraction=uniform_fraction(grey))
    if previous is not None and previous.shape == grey.shape:
        diff = cv2.absdiff(grey, previous)
        m.diff_mean = float(diff.mean())
        m.changed_fraction = float(np.count_nonzero(diff > CHANGED_LEVELS)) / diff.size
    return m
