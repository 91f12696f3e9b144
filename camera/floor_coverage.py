"""Which floor-plan zones healthy cameras see, and why the others are blind spots."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from camera.site import Camera, Site, SiteError, View

CONE_STEPS = 48
SIGHTED_FAULTS = ("low_fps",)  # faults that do not stop a camera from seeing its zone


@dataclass
class CameraState:
    """A camera's health as far as coverage cares: online and without image faults."""

    healthy: bool
    faults: list[str] = field(default_factory=list)
    known: bool = True

    def why(self) -> str:
        if not self.known:
            return "no health data"
        return ", ".join(self.faults) or ("offline" if not self.healthy else "")


def cone(view: View) -> Polygon:
    """The floor area a camera sees: a circular sector from its position."""
    x, y = view.position
    if view.fov_deg >= 360:
        return Polygon([(x + view.range_m * math.cos(2 * math.pi * i / CONE_STEPS),
                         y + view.range_m * math.sin(2 * math.pi * i / CONE_STEPS)) for i in range(CONE_STEPS)])
    start = math.radians(view.heading_deg - view.fov_deg / 2)
    span = math.radians(view.fov_deg)
    arc = [(x + view.range_m * math.cos(start + span * i / CONE_STEPS),
            y + view.range_m * math.sin(start + span * i / CONE_STEPS)) for i in range(CONE_STEPS + 1)]
    return Polygon([(x, y), *arc])


def camera_view(cam: Camera, site: Site) -> BaseGeometry:
    parts: list[BaseGeometry] = [Polygon(site.zone(z).polygon) for z in cam.zones]
    if cam.view is not None:
        parts.append(cone(cam.view))
    if cam.polygon is not None:
        parts.append(Polygon(cam.polygon))
    return unary_union(parts)


def state_from_probe(p: dict[str, Any]) -> CameraState:
    """A camera sees its view unless it is offline or its picture is blind (a low frame rate still sees)."""
    faults = [str(f) for f in p.get("faults", [])]
    if not p.get("online", False):
        return CameraState(healthy=False, faults=["offline", *(f for f in faults if f != "offline")])
    return CameraState(healthy=not [f for f in faults if f not in SIGHTED_FAULTS], faults=faults)


def load_health(path: Path, site: Site) -> dict[str, CameraState]:
    """Probe outputs: {camera id: probe JSON} or a list of probe JSON matched to cameras by source or camera."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise SiteError(f"{path}: {e.strerror or e}") from None
    except ValueError as e:
        raise SiteError(f"{path}:{getattr(e, 'lineno', 1)}: not JSON ({e})") from None
    by_source = {c.source: c.id for c in site.cameras}
    items: list[tuple[str, Any]]
    if isinstance(data, dict) and "source" in data:
        data = [data]
    elif isinstance(data, dict) and isinstance(data.get("probes"), dict):  # `camera run --once --json`
        data = data["probes"]
    if isinstance(data, dict):
        items = list(data.items())
    elif isinstance(data, list):
        items = [(str(p.get("camera") or by_source.get(str(p.get("source")), "")), p)
                 for p in data if isinstance(p, dict)]
    else:
        raise SiteError(f"{path}:1: expected a list of probe results or {{camera: probe result}}")
    out: dict[str, CameraState] = {}
    for cam_id, p in items:
        if not isinstance(p, dict) or "online" not in p:
            raise SiteError(f"{path}: {cam_id or '?'}: a probe result needs 'online' and 'faults'")
        if cam_id:
            out[cam_id] = state_from_probe(p)
    return out


def required_fraction(catalog_fraction: float, site: Site) -> float:
    """The share of a zone the zone_covered check requires: the catalog's, or the site file's when it asks
    more (the check takes the larger of the two, the site's travelling in each zone.coverage payload)."""
    return max(catalog_fraction, site.thresholds.coverage_min_fraction or 0.0)


def _zone_result(site: Site, zone_id: str, views: dict[str, BaseGeometry], states: dict[str, CameraState],
                 need: float, health_given: bool) -> dict[str, Any]:
    zone = site.zone(zone_id)
    area = Polygon(zone.polygon)
    expected = [cid for cid, v in views.items() if v.intersection(area).area > 1e-9]
    unknown = CameraState(healthy=False, known=False)
    healthy = [c for c in expected if states.get(c, unknown if health_given else CameraState(True)).healthy]
    seen = unary_union([views[c] for c in healthy]).intersection(area).area if healthy else 0.0
    fraction = seen / area.area
    covered = fraction >= need
    why: list[dict[str, Any]] = []
    for c in expected:
        st = states.get(c, unknown if health_given else CameraState(True))
        share = views[c].intersection(area).area / area.area
        if not st.healthy:
            why.append({"camera": c, "why": st.why(), "fraction": round(share, 4)})
        elif not covered:
            why.append({"camera": c, "why": f"sees only {share:.0%} of the zone", "fraction": round(share, 4)})
    if not expected:
        reason = "no camera points at this zone"
    elif covered:
        reason = ""
    else:
        reason = "; ".join(f"{w['camera']}: {w['why']}" for w in why)
    return {"zone": zone.id, "name": zone.name.model_dump(), "kind": zone.kind, "must_cover": zone.must_cover,
            "fraction": round(fraction, 4), "covered": covered, "cameras": healthy, "expected": expected,
            "why": why, "reason": reason}


def compute_coverage(site: Site, states: dict[str, CameraState] | None = None, *,
                     min_fraction: float) -> dict[str, Any]:
    """Per zone: seen fraction by healthy cameras; blind spots with the cameras that should see them and why not.

    `min_fraction` is what the catalog's zone_covered check requires (`required_fraction`): the camera
    measures, and marks zones the way that check will judge them."""
    states = states or {}
    need = min_fraction
    views = {c.id: camera_view(c, site) for c in site.cameras}
    zones = [_zone_result(site, z.id, views, states, need, bool(states)) for z in site.zones]
    blind = [{"zone": z["zone"], "fraction": z["fraction"], "cameras": z["why"], "reason": z["reason"]}
             for z in zones if z["must_cover"] and not z["covered"]]
    must = [z for z in zones if z["must_cover"]]
    pct = 100.0 * sum(1 for z in must if z["covered"]) / len(must) if must else 100.0
    unknown = CameraState(healthy=False, known=False)
    cams = []
    for c in site.cameras:
        st = states.get(c.id, unknown) if states else CameraState(True)
        cams.append({"camera": c.id, "healthy": st.healthy, "why": st.why()})
    return {"site": site.site, "min_fraction": need, "zones": zones, "cameras": cams,
            "covered": [z["zone"] for z in zones if z["covered"]], "blind_spots": blind,
            "coverage_pct": round(pct, 2), "ok": not blind}
