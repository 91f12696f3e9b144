"""Cameras: health per camera with its latest thumbnail, zone coverage, retention with forecast."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from collector.auth import Principal
from collector.deps import StateDep
from collector.store.base import Store, StoredFinding
from collector.web import readmodel
from collector.web.pagekit import control_param as param
from collector.web.pagekit import page_for, render

router = APIRouter()
Viewer = Annotated[Principal, Depends(page_for("cameras"))]
_RANK = {"fail": 0, "unknown": 1, "pass": 2}


def thumbnails(store: Store) -> dict[str, str]:
    """camera -> SHA-256 of the newest image attached to its current observations, if a source attaches any."""
    return store.camera_thumbnails()


def camera_cards(findings: list[StoredFinding], payloads: readmodel.Payloads, retention_days: float
                 ) -> list[dict[str, Any]]:
    health = {f.subject_id: f for f in findings if f.control == "CAMERA-HEALTHY"}
    kept = {f.subject_id: f for f in findings if f.control == "CCTV-RETENTION"}
    recording = {f.subject_id: f for f in findings if f.control == "CCTV-RECORDING"}
    cards: list[dict[str, Any]] = []
    for cam in sorted(set(health) | set(payloads)):
        p = payloads.get(cam, {})
        h: tuple[float | None, dict[str, Any]] = p.get("camera.health", (None, {}))
        r = p.get("camera.retention", (None, {}))[1]
        forecast = readmodel.number(r.get("forecast_days"))
        cards.append({
            "id": cam, "health": health.get(cam), "retention": kept.get(cam), "recording": recording.get(cam),
            "seen": h[0],
            "online": h[1].get("online"), "fps": h[1].get("fps"), "faults": h[1].get("faults") or [],
            "days": readmodel.number(r.get("continuous_days", r.get("days"))), "forecast_days": forecast,
            "forecast_short": forecast is not None and forecast < retention_days})
    cards.sort(key=lambda c: (_RANK.get(c["health"].status if c["health"] else "unknown", 1), c["id"]))
    return cards


def zone_rows(findings: list[StoredFinding], payloads: readmodel.Payloads) -> list[dict[str, Any]]:
    covered = {f.subject_id: f for f in findings if f.control == "ZONE-COVERED"}
    rows = []
    for zone in sorted(set(covered) | set(payloads)):
        p = payloads.get(zone, {}).get("zone.coverage", (None, {}))[1]
        rows.append({"id": zone, "finding": covered.get(zone), "fraction": p.get("fraction"),
                     "cameras": p.get("cameras") or [], "reason": p.get("reason") or "",
                     "must_cover": p.get("must_cover", True)})
    return rows


@router.get("/cameras", response_class=HTMLResponse)
def cameras_page(request: Request, state: StateDep, user: Viewer) -> Response:
    findings = readmodel.findings(state.store, subject_kinds=("camera", "zone"))
    retention_days = param(state.controls, "CCTV-RETENTION", "retention_days", 92)
    min_fraction = param(state.controls, "ZONE-COVERED", "min_fraction", 0.9)
    cams = camera_cards(findings, readmodel.latest_payloads(state.store, "camera", ("camera.health",
                                                                                     "camera.retention")),
                        retention_days)
    thumbs = thumbnails(state.store)
    plans = state.store.observations(subject_kind="site", kind="camera.floorplan", limit=1)
    plan = plans[0] if plans and plans[0].evidence else None
    zones = zone_rows(findings, readmodel.latest_payloads(state.store, "zone", ("zone.coverage",)))
    return render(request, "cameras.html", user, cams=cams, zones=zones, thumbs=thumbs, plan=plan,
                  retention_days=retention_days, min_fraction=min_fraction)
