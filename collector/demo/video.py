"""Simulated CCTV: camera health from the real detectors on OpenCV-drawn frames with injected faults,
zone coverage from a small floor plan, and retention from a simulated recording store.

Frames and their verdicts are computed once per fault kind (cached) and reused with small jitter, so
the demo stays fast and deterministic.
"""
from __future__ import annotations

import math
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from collector.demo.site import SimSite
from collector.demo.video_pictures import fault_frame, floorplan, office_scene, thumbnail
from rules.model import Observation

SIM_FPS = 12.5
SEGMENT_S = 3600.0  # the simulated recorder writes one file per hour


def _faulty(site: SimSite, cam: str, t: datetime) -> list[str]:
    d = site.day(t)
    cams = site.camera_ids
    if cam == cams[min(4, len(cams) - 1)] and 18 < d < 19.5:
        return ["moved"]  # knocked aside, put back a day and a half later
    if cam == cams[1 % len(cams)] and 22.2 < d < 22.6:
        return ["occluded"]
    if cam == cams[3 % len(cams)] and 25.0 < d < 25.3:
        return ["blurred"]  # someone touched the lens
    return []


@lru_cache(maxsize=8)
def _probe(fault: str) -> tuple[tuple[str, ...], tuple[tuple[str, float], ...]]:
    """The real detectors on 4 s of simulated frames at 5 samples/s."""
    from camera.health import HealthTracker
    from camera.moved import ReferenceView

    tracker = HealthTracker(reference=ReferenceView(office_scene(1)))
    for i in range(20):
        tracker.add(i * 0.2, fault_frame(fault, i))
    return tuple(tracker.image_faults()), tuple(sorted(tracker.metrics().items()))


def health_payload(site: SimSite, cam: str, t: datetime) -> dict[str, Any]:
    injected = _faulty(site, cam, t)
    faults, metrics = _probe(injected[0] if injected else "healthy")
    r = site.rng(cam, t.isoformat())
    fps = round(SIM_FPS + r.uniform(-0.4, 0.4), 2)
    jittered = {k: round(v * (1 + r.uniform(-0.02, 0.02)), 4) if k in ("luma_mean", "sharpness") else v
                for k, v in metrics}
    return {"online": True, "fps": fps, "frames": int(fps * 10), "faults": list(faults), "metrics": jittered}


def retention_payload(site: SimSite, cam: str, t: datetime, short: bool) -> dict[str, Any]:
    """Audit a simulated recorder with the real gap logic: one-hour segments, oldest deleted when full."""
    from zoneinfo import ZoneInfo

    from camera.layouts import parse_layout
    from camera.retention import RetentionOptions, Segment, audit_camera

    kept_days = 41.0 if short else 92.0 + min(site.day(t), 30.0)
    first = t.timestamp() - kept_days * 86400
    first -= first % SEGMENT_S
    # the last segment is the one being written: a healthy recorder's newest footage is now
    now_s = t.timestamp()
    segs = [Segment(f"{cam}/{k}.mp4", first + k * SEGMENT_S, min(now_s, first + (k + 1) * SEGMENT_S), 900_000_000)
            for k in range(math.ceil((now_s - first) / SEGMENT_S))]
    layout = parse_layout("{camera}/{start:%s}.mp4", ZoneInfo("Asia/Shanghai"))
    audit = audit_camera(cam, segs, Path("."), RetentionOptions(sample=0), t, layout)  # nothing to decode
    audit["forecast_days"] = 41.0 if short else 180.0
    return audit


def _health(site: SimSite, cam: str, index: int, t: datetime, machine_room: bool) -> Observation:
    """camera.health with the camera's last frame attached as its thumbnail, as the worker sends it."""
    injected = _faulty(site, cam, t)
    obs = site.obs(t, "camera", cam, "camera.health", health_payload(site, cam, t), source="camera-worker")
    jpeg = thumbnail(cam, index, injected[0] if injected else "healthy", machine_room)
    obs.evidence = [site.attach(f"{cam}.jpg", jpeg, "image/jpeg")]
    return obs


def _floorplan(site: SimSite, t: datetime, state: list[tuple[str, float, str]]) -> Observation:
    """camera.floorplan: the plan coloured by this snapshot's coverage, SVG then PNG."""
    svg, png, payload = floorplan(site.site, tuple(site.zone_ids), tuple(site.camera_ids), tuple(state))
    obs = site.obs(t, "site", site.site, "camera.floorplan", dict(payload), source="camera-worker")
    obs.evidence = [site.attach("floorplan.svg", svg, "image/svg+xml"), site.attach("floorplan.png", png, "image/png")]
    return obs


def cameras(site: SimSite, t: datetime) -> list[Observation]:
    out: list[Observation] = []
    cams = site.camera_ids
    zones = site.zone_ids
    short = cams[2 % len(cams)]  # its recorder deletes oldest when full: only 41 days kept
    machine_room_cam = cams[zones.index("machine-room") % len(cams)]
    for i, cam in enumerate(cams):
        out.append(_health(site, cam, i, t, cam == machine_room_cam))
        if site.daily(t, 2):
            out.append(site.obs(t, "camera", cam, "camera.retention", retention_payload(site, cam, t, cam == short),
                                source="camera-worker"))
    state: list[tuple[str, float, str]] = []
    for i, zone in enumerate(zones):
        cam = cams[i % len(cams)]
        faults = _faulty(site, cam, t)
        frac = 0.97 if not faults else 0.35
        if zone == "storage":
            frac = 0.93
        reason = f"{cam}: {', '.join(faults)}" if faults else ""
        state.append((zone, frac, reason))
        out.append(site.obs(t, "zone", zone, "zone.coverage", {
            "fraction": frac, "cameras": [] if faults else [cam], "expected": [cam], "must_cover": True,
            "why": [{"camera": cam, "why": ", ".join(faults), "fraction": 1.0}] if faults else [],
            "reason": reason}, source="camera-worker"))
    out.append(_floorplan(site, t, state))
    return out
