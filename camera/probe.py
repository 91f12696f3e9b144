"""Probe one source: sample it, measure each sample, report persistent faults (the probe JSON contract)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np

from camera.health import Baseline, HealthTracker, Thresholds, fps_fault, threshold_metrics
from camera.lens_cover import stats_from_json, stats_to_json
from camera.moved import ReferenceView
from camera.sample import Opener, Sampler, open_capture


@dataclass
class ProbeOptions:
    seconds: float | None = None  # None: a live stream for 10 s, a file to its end
    sample_fps: float = 5.0
    timeout_ms: int = 5000
    nominal_fps: float | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)


BASELINE_KEYS = ("sharpness", "luma_mean", "diff_mean", "sharpness_scale_ratio", "uniform_fraction")


class BadReference(ValueError):
    """The reference image or its baseline cannot be read."""


def load_reference(path: Path) -> tuple[ReferenceView, Baseline]:
    """A reference image; the baseline written next to it by `camera enroll` (same stem, .json) when present."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise BadReference(f"{path}: not a readable image")
    baseline = Baseline()
    side = path.with_suffix(".json")
    if side.is_file():
        try:
            data = json.loads(side.read_text())
            baseline = Baseline(**{k: data.get(k) for k in BASELINE_KEYS})
            if data.get("blocks"):
                baseline.blocks = stats_from_json(data["blocks"])
        except (ValueError, AttributeError, KeyError, TypeError) as e:
            raise BadReference(f"{side}: not a baseline written by camera enroll ({e})") from None
    return ReferenceView(image), baseline


def masked(source: str) -> str:
    """The source with any password in its URL replaced, fit for logs and observations."""
    parts = urlsplit(source)
    if not parts.password:
        return source
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def probe(source: str, options: ProbeOptions | None = None, reference: ReferenceView | None = None,
          baseline: Baseline | None = None, opener: Opener = open_capture,
          last_frame: list[Any] | None = None) -> dict[str, Any]:
    """Sample `source` and judge it. Returns {source, online, fps, frames, faults, metrics}.
    With `last_frame` (a list), the last decoded frame is put in it (for a thumbnail)."""
    opt = options or ProbeOptions()
    sampler = Sampler(source, opt.seconds, opt.sample_fps, opt.timeout_ms, opener=opener)
    tracker = HealthTracker(thresholds=opt.thresholds, baseline=baseline or Baseline(), reference=reference)
    for s in sampler:
        tracker.add(s.t_s, s.frame)
        if last_frame is not None:
            last_frame[:] = [s.frame]
    stats = sampler.stats
    online = stats.opened and stats.frames > 0 and not stats.dropped
    faults: list[str] = []
    if not online:
        faults.append("offline")
    else:
        if fps_fault(stats.fps, opt.thresholds, opt.nominal_fps):
            faults.append("low_fps")
        faults.extend(tracker.image_faults())
    metrics = {**tracker.metrics(), **threshold_metrics(opt.thresholds),
               "span_s": round(stats.span_s, 3), "samples": float(len(tracker.samples))}
    if opt.nominal_fps:
        metrics["nominal_fps"] = float(opt.nominal_fps)
    return {"source": masked(source), "online": online, "fps": round(stats.fps, 3), "frames": stats.frames,
            "faults": faults, "metrics": metrics}


def enroll(source: str, out: Path, options: ProbeOptions | None = None,
           opener: Opener = open_capture) -> dict[str, Any]:
    """Record a healthy camera's reference frame (out.png) and baselines (out.json)."""
    opt = options or ProbeOptions()
    sampler = Sampler(source, opt.seconds, opt.sample_fps, opt.timeout_ms, opener=opener)
    tracker = HealthTracker(thresholds=opt.thresholds)
    frames: list[tuple[float, np.ndarray]] = []
    for s in sampler:
        tracker.add(s.t_s, s.frame)
        frames.append((s.t_s, s.frame))
        frames = frames[-50:]  # the reference is a frame from the middle of the last ten seconds
    middle = frames[len(frames) // 2][1] if frames else None
    if middle is None:
        raise ValueError(f"{source}: no frames to enroll")
    faults = tracker.image_faults()
    out.parent.mkdir(parents=True, exist_ok=True)
    image = out.with_suffix(".png")
    cv2.imwrite(str(image), middle)
    m = tracker.metrics()
    baseline = {"source": masked(source), **{k: m.get(k) for k in BASELINE_KEYS},
                "fps": round(sampler.stats.fps, 3), "faults_at_enroll": faults}
    blocks = tracker.cover.block_map()
    stored = {**baseline, "blocks": stats_to_json(blocks)} if blocks is not None else baseline
    image.with_suffix(".json").write_text(json.dumps(stored) + "\n")
    return {"reference": str(image), **baseline}
