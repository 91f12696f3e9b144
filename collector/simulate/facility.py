"""Simulated machine room: UPS, climate sensors, door audits."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from collector.simulate.site import SimSite, source
from rules.checks.facility import dew_point_c
from rules.model import Observation


@source("ups")
def ups(site: SimSite, t: datetime) -> list[Observation]:
    out = []
    d = site.day(t)
    for i in range(1, site.ups + 1):
        on_battery = i == 1 and abs(d - 16.3) < 0.05
        runtime = 2600 - 20 * d  # the battery ages
        if on_battery:
            runtime = 1260
        flags = ["OB", "DISCHRG"] if on_battery else ["OL", "CHRG"] if d % 7 < 0.2 else ["OL"]
        test_date = (site.start + timedelta(days=int(d // 14) * 14)).date().isoformat()
        out.append(site.obs(t, "ups", f"ups-{i}", "ups.status", {
            "status": " ".join(flags), "flags": flags, "battery_runtime_s": round(runtime),
            "battery_charge_pct": 62 if on_battery else 100, "ups_load_pct": 38,
            "test_result": "Done and passed", "test_date": test_date + "T03:00:00+00:00"}, source="nut-poller"))
    return out


@source("climate")
def climate(site: SimSite, t: datetime) -> list[Observation]:
    out = []
    d = site.day(t)
    for i in range(1, site.sensors + 1):
        r = site.rng("sensor", i, t.isoformat())
        temp = 22.5 + 1.5 * math.sin(2 * math.pi * (t.hour / 24)) + r.gauss(0, 0.2)
        rh = 45 + 5 * math.sin(d) + r.gauss(0, 1)
        if i == 2 and 8 < d < 9:  # the precision AC's humidifier stuck on
            rh = 63 + r.gauss(0, 1)
        out.append(site.obs(t, "sensor", f"sensor-{i}", "climate.reading", {
            "temperature_c": round(temp, 2), "humidity_pct": round(rh, 1),
            "dew_point_c": round(dew_point_c(temp, rh), 2), "rate_c_per_h": round(r.gauss(0, 0.3), 2),
            "probe": "cold-aisle"}, source="climate-poller"))
    return out


@source("doors")
def doors(site: SimSite, t: datetime) -> list[Observation]:
    if not site.daily(t, 23):
        return []  # access logs are exported and audited nightly
    d = int(site.day(t))
    out = []
    for door in site.doors:
        counts = {"door_held_open": 0, "forced_entry": 0, "unknown_badge": 0, "unapproved_entry": 0,
                  "unescorted_entry": 0, "after_hours_entry": 0}
        if door == "main-door" and d in (3, 17):
            counts["door_held_open"] = 1
        if door == "machine-room-door" and d == 11:
            counts["unescorted_entry"] = 1
        if door == "office-door" and d == 25:
            counts["unknown_badge"] = 2
        start = t.replace(hour=0, minute=0, second=0, microsecond=0)
        out.append(site.obs(t, "door", door, "access.audit", {
            "period_start": start.isoformat(), "period_end": t.isoformat(), "events": 180 + d % 13,
            "counts": counts, "violations": []}, source="import:access"))
    return out
