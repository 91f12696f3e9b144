"""Partial covers: a still, featureless surface that appeared over part of the view.

The frame is cut into blocks (camera.metrics.BLOCK_PX on the working copy). A block is *newly covered*
when it is flat now, did not change since the previous sample, and shows another colour than it did in
the reference. Texture lost at the same colour is what a defocused lens does, so it is left to the blur
detector. Neighbouring newly covered blocks of nearly the same colour form one surface (a smooth
gradient, such as a hand lit from one side, stays one surface); the largest surface's share of the frame
is the `cover_fraction`.

The reference is the camera's enrolled block map (`camera enroll`), else the first second of the probe:
without a baseline only a cover that arrives while the probe watches can be told from a bare wall.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from camera.metrics import BLOCK_PX, FLAT_BLOCK_STD, block_mean_std

TEXTURED_BLOCK_STD = 5.0  # a block this detailed shows the scene, not a cover
SURFACE_CHANGE_LEVELS = 12.0  # a flat block whose colour moved this far is another surface
SURFACE_EDGE_LEVELS = 10.0  # neighbouring blocks further apart than this are two surfaces
STILL_LEVELS = 3.0  # a cover does not move: a block changing more than this between samples is not one
REFERENCE_SAMPLES = 5  # without a baseline: the first second at 5 samples/s
MONOCHROME_SPREAD = 3.0  # blocks whose colour channels differ less than this are grey: a camera in IR mode
GAIN_MIN_BLOCKS = 10  # textured blocks needed to estimate a change of light against the baseline
_UP = 3  # blocks drawn 3x3 pixels so that a cut between two blocks is one pixel line


@dataclass
class BlockStats:
    colour: np.ndarray  # (rows, cols, 3) mean BGR per block
    std: np.ndarray  # (rows, cols) grey-level spread per block
    luma: np.ndarray  # (rows, cols) mean grey level per block

    @property
    def shape(self) -> tuple[int, int]:
        return self.std.shape[0], self.std.shape[1]


def block_stats(frame: np.ndarray, grey: np.ndarray) -> BlockStats:
    """Per-block colour, spread and level; `grey` is the working copy of `frame` (camera.metrics.to_work)."""
    luma, std = block_mean_std(grey)
    rows, cols = luma.shape
    if rows == 0 or cols == 0:  # a sliver of a picture: no blocks, nothing to judge
        return BlockStats(colour=np.zeros((rows, cols, 3), np.float32), std=std, luma=luma)
    colour_src = frame if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    scale = colour_src.shape[1] / grey.shape[1]
    crop = colour_src[: round(rows * BLOCK_PX * scale), : round(cols * BLOCK_PX * scale)]
    colour = cv2.resize(crop, (cols, rows), interpolation=cv2.INTER_AREA).astype(np.float32)
    return BlockStats(colour=colour, std=std, luma=luma)


def median_stats(history: list[BlockStats]) -> BlockStats:
    return BlockStats(colour=np.median([b.colour for b in history], axis=0),
                      std=np.median([b.std for b in history], axis=0),
                      luma=np.median([b.luma for b in history], axis=0))


def stats_to_json(stats: BlockStats) -> dict[str, Any]:
    """The block map as written next to the reference image by `camera enroll`."""
    return {"rows": stats.shape[0], "cols": stats.shape[1],
            "colour": np.round(stats.colour, 1).ravel().tolist(), "std": np.round(stats.std, 2).ravel().tolist(),
            "luma": np.round(stats.luma, 1).ravel().tolist()}


def stats_from_json(data: dict[str, Any]) -> BlockStats:
    rows, cols = int(data["rows"]), int(data["cols"])
    return BlockStats(colour=np.asarray(data["colour"], np.float32).reshape(rows, cols, 3),
                      std=np.asarray(data["std"], np.float32).reshape(rows, cols),
                      luma=np.asarray(data["luma"], np.float32).reshape(rows, cols))


def _light_gain(now: BlockStats, ref: BlockStats) -> float:
    """How much brighter the visible scene is than at enrolment (lights, day and night, auto exposure),
    from the blocks that still show texture: a cover has none."""
    textured = now.std >= TEXTURED_BLOCK_STD
    if int(textured.sum()) < GAIN_MIN_BLOCKS:
        return 1.0
    return float(np.median(now.luma[textured]) / max(float(np.median(ref.luma[textured])), 1.0))


def _monochrome(stats: BlockStats) -> bool:
    return bool(np.median(np.ptp(stats.colour, axis=2)) < MONOCHROME_SPREAD) if stats.colour.size else False


def _largest_surface(covered: np.ndarray, colour: np.ndarray) -> int:
    """Blocks in the largest group of neighbouring covered blocks whose colours join smoothly."""
    rows, cols = covered.shape
    up = np.kron(covered, np.ones((_UP, _UP), bool)).astype(np.uint8)
    grid = up.reshape(rows, _UP, cols, _UP)
    grid[:, :, :-1, _UP - 1] *= (np.abs(np.diff(colour, axis=1)).max(axis=2) <= SURFACE_EDGE_LEVELS)[:, None, :]
    grid[:-1, _UP - 1, :, :] *= (np.abs(np.diff(colour, axis=0)).max(axis=2) <= SURFACE_EDGE_LEVELS)[:, :, None]
    n, labels = cv2.connectedComponents(up, connectivity=4)
    if n <= 1:
        return 0
    centres = labels[_UP // 2::_UP, _UP // 2::_UP]
    return int(np.bincount(centres.ravel(), minlength=n)[1:].max())


def cover_fraction(now: BlockStats, ref: BlockStats, previous: BlockStats | None, relight: bool) -> float:
    """Share of the frame hidden by one still, featureless surface that is not in the reference."""
    flat = now.std < FLAT_BLOCK_STD
    if previous is not None:
        flat &= np.abs(now.colour - previous.colour).max(axis=2) < STILL_LEVELS
    gain = _light_gain(now, ref) if relight else 1.0
    if relight and _monochrome(now):  # a day/night camera in infrared mode: colour says nothing, grey levels do
        recoloured = np.abs(now.luma - gain * ref.luma) > SURFACE_CHANGE_LEVELS
    else:
        recoloured = np.abs(now.colour - gain * ref.colour).max(axis=2) > SURFACE_CHANGE_LEVELS
    covered = flat & recoloured
    if not covered.any():
        return 0.0
    return _largest_surface(covered, now.colour) / covered.size


@dataclass
class CoverTracker:
    """Feed block stats in time order; `update` gives the cover fraction once there is a reference."""

    enrolled: BlockStats | None = None
    history_max: int = 50

    def __post_init__(self) -> None:
        self.reference: BlockStats | None = self.enrolled
        self.history: list[BlockStats] = []
        self._previous: BlockStats | None = None

    def update(self, stats: BlockStats) -> float | None:
        previous, self._previous = self._previous, stats
        self.history = [*self.history[-(self.history_max - 1):], stats]
        if self.reference is not None and self.reference.shape != stats.shape:
            self.reference = None  # the camera's resolution changed since enrolment: judge this probe alone
        if self.reference is None:
            if len(self.history) >= REFERENCE_SAMPLES:
                self.reference = median_stats(self.history[:REFERENCE_SAMPLES])
            return None
        return cover_fraction(stats, self.reference, previous, relight=self.reference is self.enrolled)

    def block_map(self) -> BlockStats | None:
        """The median block map over the recent samples (what `camera enroll` stores)."""
        return median_stats(self.history) if self.history else None
