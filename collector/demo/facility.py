"""Simulated machine room: UPS (with a mains failure and a stale driver), climate probes, door audits."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from collector.demo.site import SimSite
from rules.model import Observation
from rules.physics import dew_point_c

OUTAGE_DAYS = (16.27, 16.33)  # mains fails for about 86 minutes on day 16
STALE_DAYS = (22.0, 22.1)  # the UPS driver loses its USB link for a while on day 22
ROOM = "machine-room"  # the one room the UPSes power and the probes measure (poll.yaml `room:`)


def ups(site: SimSite, t: datetime) -> list[Observation]:
    out = []
    d = site.day(t)
    for i in range(1, site.ups + 1):
        subject = f"ups-{i}"
        if i == 1 and STALE_DAYS[0] <= d < STALE_DAYS[1]:
            out.append(site.obs(t, "ups", subject, "ups.status", {
                "status": None, "flags": [], "battery_runtime_s": None, "battery_charge_pct": None,
                "ups_load_pct": None, "test_result": None, "test_date": None, "error": "DATA-STALE", "room": ROOM},
                source="nut-poller"))
            continue
        on_battery = i == 1 and OUTAGE_DAYS[0] <= d < OUTAGE_DAYS[1]
        runtime = 2600 - 20 * d  # the battery ages
        if on_battery:
            runtime = 1260
        flags = ["OB", "DISCHRG"] if on_battery else ["OL", "CHRG"] if d % 7 < 0.2 else ["OL"]
        test_date = (site.start + timedelta(days=int(d // 14) * 14)).date().isoformat()
        out.append(site.obs(t, "ups", subject, "ups.status", {
            "status": " ".join(flags), "flags": flags, "battery_runtime_s": round(runtime),
            "battery_charge_pct": 62 if on_battery else 100, "ups_load_pct": 38,
            "test_result": "Done and passed", "test_date": test_date + "T03:00:00+00:00", "error": None,
            "room": ROOM},
            source="nut-poller"))
        if i == 1:
            out.extend(_outage_events(site, t, subject))
    return out


def _outage_events(site: SimSite, t: datetime, subject: str) -> list[Observation]:
    """on_battery when the outage is seen, on_line with its duration once it is over (ids are stable)."""
    start = site.start + timedelta(days=OUTAGE_DAYS[0])
    end = site.start + timedelta(days=OUTAGE_DAYS[1])
    out = []
    if start <= t:
        out.append(site.obs(start, "ups", subject, "ups.event", {
            "event": "on_battery", "at": start.isoformat(), "duration_s": None, "battery_runtime_s": 1260},
            source="nut-poller"))
    if end <= t < end + timedelta(days=1):
        out.append(site.obs(end, "ups", subject, "ups.event", {
            "event": "on_line", "at": end.isoformat(), "duration_s": round((end - start).total_seconds()),
            "previous_since": start.isoformat(), "battery_runtime_s": 2200}, source="nut-poller"))
    return out


def _temperature(i: int, t: datetime, d: float) -> float:
    temp = 22.5 + 1.5 * math.sin(2 * math.pi * ((t.hour + t.minute / 60) / 24)) + 0.3 * i
    if i == 1 and 12.5 < d < 12.6:  # a precision air conditioner trips: the room warms fast
        temp += 40 * (d - 12.5)
    return temp


def climate(site: SimSite, t: datetime) -> list[Observation]:
    out = []
    d = site.day(t)
    for i in range(1, site.sensors + 1):
        r = site.rng("sensor", i, t.isoformat())
        temp = _temperature(i, t, d) + r.gauss(0, 0.1)
        rate = _temperature(i, t, d) - _temperature(i, t - timedelta(hours=1), site.day(t - timedelta(hours=1)))
        rh = 45 + 5 * math.sin(d) + r.gauss(0, 1)
        if i == 2 and 8 < d < 9:  # the precision AC's humidifier stuck on
            rh = 63 + r.gauss(0, 1)
        out.append(site.obs(t, "sensor", f"sensor-{i}", "climate.reading", {
            "temperature_c": round(temp, 2), "humidity_pct": round(rh, 1),
            "dew_point_c": round(dew_point_c(temp, rh), 2), "rate_c_per_h": round(rate, 2),
            "probe": "cold-aisle", "transport": "modbus", "error": None, "room": ROOM}, source="climate-poller"))
    return out


_DETAILS = {"door_held_open": "door held open 95 s (limit 60 s) / 门开启 95 秒（上限 60 秒）",
            "forced_entry": "door forced open / 门被强行打开",
            "unknown_badge": "granted although badge revoked / 卡片已注销，仍被放行",
            "unapproved_entry": "machine-room entry without an approval covering person, door and time"
                                " / 进入机房无对应审批",
            "unescorted_entry": "staff entered with no admin badge within ±120 s / 前后 120 秒内无管理员陪同进入",
            "after_hours_entry": "entry at 22:40:12 outside working hours 07:30-21:30 without approval"
                                 " / 22:40:12 非工作时间（07:30-21:30）进入且无审批"}


def doors(site: SimSite, t: datetime) -> list[Observation]:
    if not site.daily(t, 23):
        return []  # access logs are exported and audited nightly
    d = int(site.day(t))
    out = []
    for door in site.doors:
        counts = dict.fromkeys(_DETAILS, 0)
        if door == "main-door" and d in (3, 17):
            counts["door_held_open"] = 1
        if door == "machine-room-door" and d == 11:
            counts["unescorted_entry"] = 1
        if door == "office-door" and d == 25:
            counts["unknown_badge"] = 2
        start = t.replace(hour=0, minute=0, second=0, microsecond=0)
        violations = [{"type": k, "time": (start + timedelta(hours=10, minutes=7 * n)).isoformat(), "door": door,
                       "badge": f"B{1000 + n}", "person": f"staff-{n}", "detail": _DETAILS[k]}
                      for k, c in counts.items() for n in range(c)]
        out.append(site.obs(t, "door", door, "access.audit", {
            "door": door, "period_start": start.isoformat(), "period_end": t.isoformat(), "events": 180 + d % 13,
            "counts": counts, "violations": violations, "violations_truncated": False}
            | ({"room": ROOM} if door.startswith("machine-room") else {}), source="import:access"))
    return out
