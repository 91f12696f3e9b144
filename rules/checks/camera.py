"""Checks over camera health, floor-plan coverage and recording retention."""
from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict

from rules.kinds import payload
from rules.registry import CheckInput, Verdict, check, failed, passed, unknown


@payload("camera.health")
class CameraHealth(TypedDict, total=False):
    online: bool | None
    fps: float | None
    faults: list[str]


@check("camera_healthy", kinds=["camera.health"])
def camera_healthy(inp: CheckInput) -> Verdict:
    """The camera streams at its frame rate with no tamper fault (black, frozen, blurred, occluded, moved)."""
    p = inp.require("camera.health").payload
    faults = list(p.get("faults", []))
    value = {"online": bool(p.get("online")), "fps": p.get("fps"), "faults": faults}
    if not p.get("online"):
        return failed("摄像头离线", "camera offline", **value)
    if faults:
        return failed("摄像头故障：" + ", ".join(faults), "camera faults: " + ", ".join(faults), **value)
    return passed(f"在线，{float(p.get('fps') or 0):.1f} fps", f"online, {float(p.get('fps') or 0):.1f} fps",
                  **value)


@payload("camera.retention")
class CameraRetention(TypedDict, total=False):
    retention_days: float | None
    days: float
    continuous_days: float | None
    gaps: list[Any]
    unreadable: list[Any]
    forecast_days: float | None


@check("footage_retained", kinds=["camera.retention"], params={"retention_days": 92})
def footage_retained(inp: CheckInput) -> Verdict:
    """Footage is continuous and readable over the last N days."""
    p = inp.require("camera.retention").payload
    # the site may ask for more than the catalog, never for less
    need = max(float(inp.params["retention_days"]), float(p.get("retention_days") or 0))
    days = float(p.get("continuous_days", p.get("days", 0)))
    gaps = p.get("gaps", [])
    unreadable = p.get("unreadable", [])
    value = {"continuous_days": round(days, 2), "retention_days": need, "gaps": len(gaps),
             "unreadable": len(unreadable), "forecast_days": p.get("forecast_days")}
    if unreadable:
        return failed(f"{len(unreadable)} 个录像片段无法读取", f"{len(unreadable)} unreadable segment(s)",
                      **value)
    if days < need:
        return failed(f"连续录像仅 {days:.1f} 天（要求 {need:g} 天）",
                      f"continuous footage covers {days:.1f} days (need {need:g})", **value)
    return passed(f"连续录像 {days:.1f} 天", f"continuous footage for {days:.1f} days", **value)


@check("recorder_recording", kinds=["camera.retention"], params={"max_lag_minutes": 15})
def recorder_recording(inp: CheckInput) -> Verdict:
    """The recorder's newest footage is recent: it is recording now (judged apart from how far back footage goes)."""
    p = inp.require("camera.retention").payload
    limit_min = float(inp.params["max_lag_minutes"])
    if p.get("recording_lag_s") is None:
        return unknown("录像扫描未给出最新录像时间", "the recording scan gives no newest-footage time")
    lag_min = float(p["recording_lag_s"]) / 60
    value = {"recording_lag_minutes": round(lag_min, 1), "max_lag_minutes": limit_min, "newest": p.get("newest")}
    if lag_min > limit_min:
        return failed(f"录像已停止 {lag_min:.0f} 分钟（允许 {limit_min:g} 分钟）",
                      f"recording stopped {lag_min:.0f} min ago (allowed {limit_min:g} min)", **value)
    return passed("正在录像", "recording", **value)


@payload("zone.coverage")
class ZoneCoverage(TypedDict, total=False):
    fraction: float
    min_fraction: float | None
    cameras: list[Any]
    must_cover: bool
    reason: str | None


@check("zone_covered", kinds=["zone.coverage"], params={"min_fraction": 0.9})
def zone_covered(inp: CheckInput) -> Verdict:
    """A zone that must be covered is seen by at least one healthy camera."""
    p = inp.require("zone.coverage").payload
    frac = float(p.get("fraction", 0))
    need = max(float(inp.params["min_fraction"]), float(p.get("min_fraction") or 0))
    value = {"fraction": round(frac, 3), "cameras": p.get("cameras", []), "must_cover": p.get("must_cover", True)}
    if not p.get("must_cover", True):
        return passed("此区域无需覆盖", "zone need not be covered", **value)
    if frac < need:
        why = p.get("reason") or ""
        return failed(f"监控盲区：覆盖 {frac:.0%}（要求 {need:.0%}）{why}",
                      f"blind spot: {frac:.0%} covered (need {need:.0%}) {why}".strip(), **value)
    return passed(f"覆盖 {frac:.0%}", f"{frac:.0%} covered", **value)
