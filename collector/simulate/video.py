"""Simulated CCTV: camera health, zone coverage, recording retention."""
from __future__ import annotations

from datetime import datetime, timedelta

from collector.simulate.site import SimSite, source
from rules.model import Observation


def _faulty(site: SimSite, cam: str, t: datetime) -> list[str]:
    d = site.day(t)
    cams = site.camera_ids
    if cam == cams[min(4, len(cams) - 1)] and 18 < d < 19.5:
        return ["moved"]  # knocked aside, put back a day and a half later
    if cam == cams[1 % len(cams)] and 22.2 < d < 22.6:
        return ["occluded"]
    return []


@source("cameras")
def cameras(site: SimSite, t: datetime) -> list[Observation]:
    out: list[Observation] = []
    cams = site.camera_ids
    short = cams[2 % len(cams)]  # its recorder deletes oldest when full: only 41 days kept
    for cam in cams:
        faults = _faulty(site, cam, t)
        r = site.rng(cam, t.isoformat())
        out.append(site.obs(t, "camera", cam, "camera.health", {
            "online": True, "fps": round(12.5 + r.random(), 2), "frames": 30, "faults": faults,
            "metrics": {"luma_mean": round(90 + r.random() * 20, 1), "laplacian_var": round(300 + r.random() * 50)}},
            source="camera-worker"))
        if site.daily(t, 2):
            days = 41.0 if cam == short else 92.0 + site.day(t)
            out.append(site.obs(t, "camera", cam, "camera.retention", {
                "oldest": (t - timedelta(days=days)).isoformat(), "newest": t.isoformat(), "days": days,
                "continuous_days": days, "gaps": [], "unreadable": [], "forecast_days": 200 if days > 92 else 41},
                source="camera-worker"))
    zones = site.zone_ids
    for i, zone in enumerate(zones):
        cam = cams[i % len(cams)]
        faults = _faulty(site, cam, t)
        frac = 0.97 if not faults else 0.35
        if zone == "storage":
            frac = 0.93
        out.append(site.obs(t, "zone", zone, "zone.coverage", {
            "fraction": frac, "cameras": [cam], "must_cover": True,
            "reason": f"{cam}: {', '.join(faults)}" if faults else ""}, source="camera-worker"))
    return out
