"""Checks over the machine room: UPS, climate, door and access audits."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from typing_extensions import TypedDict

from rules.audit_params import naming_overrides
from rules.kinds import IsoTime, payload
from rules.physics import dew_point_c
from rules.registry import REQUIRED, CheckInput, Verdict, check, failed, passed, unknown


@payload("ups.status")
class UpsStatus(TypedDict, total=False):
    error: str | None
    flags: list[str]
    battery_runtime_s: float | None
    battery_charge_pct: float | None
    ups_load_pct: float | None
    test_date: IsoTime | None
    test_result: str | None


@check("ups_runtime", kinds=["ups.status"], params={"min_runtime_s": 1800})
def ups_runtime(inp: CheckInput) -> Verdict:
    """The UPS can carry the present load for at least the required time."""
    p = inp.require("ups.status").payload
    if p.get("error"):
        return unknown(f"UPS 数据不可用：{p['error']}", f"UPS data unavailable: {p['error']}", error=p["error"])
    runtime = p.get("battery_runtime_s")
    flags = p.get("flags", [])
    value = {"battery_runtime_s": runtime, "battery_charge_pct": p.get("battery_charge_pct"),
             "ups_load_pct": p.get("ups_load_pct"), "flags": flags, "on_battery": "OB" in flags}
    if runtime is None:
        return unknown("UPS 未报告续航时间", "UPS reports no runtime", **value)
    need = float(inp.params["min_runtime_s"])
    # minutes, as the tender and the machine-room page say it
    have_min, need_min = float(runtime) / 60, need / 60
    if float(runtime) < need:
        return failed(f"当前负载下续航 {have_min:.0f} 分钟（要求 {need_min:g} 分钟）",
                      f"runtime at present load {have_min:.0f} min (need {need_min:g} min)", **value)
    return passed(f"续航 {have_min:.0f} 分钟", f"runtime {have_min:.0f} min", **value)


@check("ups_selftest", kinds=["ups.status"], params={"max_selftest_age_days": 31})
def ups_selftest(inp: CheckInput) -> Verdict:
    """The UPS ran a self-test within the configured period and it passed."""
    p = inp.require("ups.status").payload
    date = p.get("test_date")
    result = str(p.get("test_result") or "")
    if not date:
        return unknown("UPS 未报告自检日期", "UPS reports no self-test date", test_result=result)
    age = (inp.now - datetime.fromisoformat(date)).total_seconds() / 86400
    limit = float(inp.params["max_selftest_age_days"])
    value = {"selftest_age_days": round(age, 1), "test_result": result}
    if age > limit:
        return failed(f"上次自检在 {age:.0f} 天前（上限 {limit:g} 天）",
                      f"last self-test {age:.0f} days ago (limit {limit:g} days)", **value)
    if any(word in result.lower() for word in ("fail", "error")):  # NUT's "Done and failed", UPS-MIB's doneError
        return failed(f"自检失败：{result}", f"self-test failed: {result}", **value)
    return passed(f"{age:.0f} 天前自检通过", f"self-test {age:.0f} days ago", **value)


@payload("climate.reading")
class ClimateReading(TypedDict, total=False):
    temperature_c: float | None
    humidity_pct: float | None
    dew_point_c: float | None
    rate_c_per_h: float | None
    error: str | None


@check("climate_in_range", kinds=["climate.reading"], params={
    "min_temp_c": 18.0, "max_temp_c": 27.0, "max_rh_pct": 60.0,
    "min_dew_point_c": 5.5, "max_dew_point_c": 15.0, "max_rate_c_per_h": 5.0})
def climate_in_range(inp: CheckInput) -> Verdict:
    """Machine-room temperature, humidity, dew point and rate of change are within range."""
    p = inp.require("climate.reading").payload
    q = inp.params
    if p.get("error") or p.get("temperature_c") is None or p.get("humidity_pct") is None:
        error = p.get("error") or "no reading"
        return unknown(f"传感器无读数：{error}", f"sensor gives no reading: {error}", error=error)
    t, rh = float(p["temperature_c"]), float(p["humidity_pct"])
    dp = float(p["dew_point_c"]) if p.get("dew_point_c") is not None else dew_point_c(t, rh)
    rate = p.get("rate_c_per_h")
    value = {"temperature_c": round(t, 2), "humidity_pct": round(rh, 1), "dew_point_c": round(dp, 2),
             "rate_c_per_h": rate}
    out_zh, out_en = [], []
    if not q["min_temp_c"] <= t <= q["max_temp_c"]:
        out_zh.append(f"温度 {t:.1f}°C 超出 {q['min_temp_c']}–{q['max_temp_c']}°C")
        out_en.append(f"temperature {t:.1f} °C outside {q['min_temp_c']}–{q['max_temp_c']} °C")
    if rh > q["max_rh_pct"]:
        out_zh.append(f"湿度 {rh:.0f}% 高于 {q['max_rh_pct']}%")
        out_en.append(f"humidity {rh:.0f} % above {q['max_rh_pct']} %")
    if not q["min_dew_point_c"] <= dp <= q["max_dew_point_c"]:
        out_zh.append(f"露点 {dp:.1f}°C 超出 {q['min_dew_point_c']}–{q['max_dew_point_c']}°C")
        out_en.append(f"dew point {dp:.1f} °C outside {q['min_dew_point_c']}–{q['max_dew_point_c']} °C")
    if rate is not None and abs(float(rate)) >= q["max_rate_c_per_h"]:
        out_zh.append(f"温度变化 {float(rate):.1f}°C/小时")
        out_en.append(f"temperature changing {float(rate):.1f} °C/h")
    if out_en:
        return failed("；".join(out_zh), "; ".join(out_en), **value)
    return passed(f"{t:.1f}°C，{rh:.0f}%RH，露点 {dp:.1f}°C", f"{t:.1f} °C, {rh:.0f} %RH, dew point {dp:.1f} °C",
                  **value)


class AuditPayload(TypedDict, total=False):
    """What every log audit (access, calls, accounts) reports: counts per violation type."""

    counts: dict[str, int]
    events: int | None
    period_start: str | None
    period_end: str | None
    violations: list[Any]
    thresholds: dict[str, float]  # the limits the audit ran with (audits before this field: none)


payload("access.audit")(AuditPayload)
payload("accounts.audit")(AuditPayload)


# The audits' thresholds (rules/audit_params.py), each set by the control whose violation types it
# decides (None: this control sets none); recordings_retained and recorder_alive set the other two.
@check("audit_violations", kinds=["access.audit", "calls.audit", "accounts.audit"],
       params={"audit_kind": REQUIRED, "types": REQUIRED, "max_held_open_s": None, "escort_window_s": None,
               "min_recorded_ratio": None, "export_limit": None, "export_window_min": None, "max_gap_h": None,
               "session_idle_min": None})
def audit_violations(inp: CheckInput) -> Verdict:
    """The latest audit of a log (access, calls, accounts) found none of the listed violation types."""
    kind = str(inp.params["audit_kind"])
    obs = inp.require(kind)
    return naming_overrides(_audit_counts(inp, obs.payload), inp.params, obs.payload, kind)


def _audit_counts(inp: CheckInput, payload: dict[str, Any]) -> Verdict:
    counts = payload.get("counts", {})
    types = list(inp.params["types"])
    found = {t: int(counts.get(t, 0)) for t in types if int(counts.get(t, 0))}
    value = {"counts": {t: int(counts.get(t, 0)) for t in types}, "events": payload.get("events"),
             "period_start": payload.get("period_start"), "period_end": payload.get("period_end")}
    if found:
        text = ", ".join(f"{t}×{n}" for t, n in found.items())
        # the types are the log's own identifiers: the Chinese reason counts them (pages name each type in words)
        return failed(f"审计发现违规 {sum(found.values())} 次（{len(found)} 类）", f"audit found violations: {text}",
                      **value)
    return passed("审计未发现违规", "audit found no violations", **value)
