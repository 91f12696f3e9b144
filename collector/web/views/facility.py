"""Machine room: UPS state and runtime, climate charts against the catalog's thresholds, door audits."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from collector.auth import Principal
from collector.deps import StateDep
from collector.i18n import translate
from collector.state import AppState
from collector.web import readmodel
from collector.web.charts import Chart, Series
from collector.web.pagekit import control_param as param
from collector.web.pagekit import page_for, render, request_lang
from rules.model import Control

router = APIRouter()
Viewer = Annotated[Principal, Depends(page_for("facility"))]
DOOR_CONTROLS = ("DOOR-CLOSED", "BADGE-RULES", "MACHINE-ROOM-ENTRY")
CHART_POINTS = 200


def violation_types(controls: list[Control]) -> dict[str, Control]:
    """Access-audit counts that break a control of the catalog in force, each with the control it breaks."""
    return {t: c for c in controls if c.id in DOOR_CONTROLS for t in c.params.get("types", [])}


def climate_charts(state: AppState, since: datetime, bucket_s: int, lang: str) -> list[Any]:
    def p(name: str, default: float) -> float:
        return param(state.controls, "CLIMATE-RANGE", name, default)

    data = readmodel.series(state.store, "sensor", "climate.reading",
                            ("temperature_c", "humidity_pct", "dew_point_c"), since, bucket_s)
    tz = ZoneInfo(state.settings.site_tz)
    specs = (("temperature_c", "temperature", "°C", p("min_temp_c", 18), p("max_temp_c", 27)),
             ("humidity_pct", "humidity", "%", None, p("max_rh_pct", 60)),
             ("dew_point_c", "dew_point", "°C", p("min_dew_point_c", 5.5), p("max_dew_point_c", 15)))
    return [Chart(translate(key, lang), unit, [Series(sensor, fields.get(field, []))
                                               for sensor, fields in sorted(data.items())],
                  low=low, high=high, tz=tz).svg()
            for field, key, unit, low, high in specs]


def ups_cards(state: AppState, since: datetime, bucket_s: int, lang: str) -> list[dict[str, Any]]:
    need_s = param(state.controls, "UPS-RUNTIME", "min_runtime_s", 1800)
    findings = {(f.control, f.subject_id): f for f in readmodel.findings(state.store, subject_kinds=["ups"])}
    latest = readmodel.latest_payloads(state.store, "ups", ("ups.status",))
    runtime = readmodel.series(state.store, "ups", "ups.status", ("battery_runtime_s",), since, bucket_s)
    tz = ZoneInfo(state.settings.site_tz)
    cards = []
    for ups in sorted(set(latest) | {s for _, s in findings}):
        at, p = latest.get(ups, {}).get("ups.status", (None, {}))
        flags = [str(f) for f in p.get("flags") or []] if isinstance(p.get("flags"), list) else \
            str(p.get("status") or "").split()
        points = [(x, y / 60) for x, y in runtime.get(ups, {}).get("battery_runtime_s", [])]
        cards.append({
            "id": ups, "seen": at, "flags": flags, "on_battery": "OB" in flags,
            "runtime_min": runtime_s / 60 if (runtime_s := readmodel.number(p.get("battery_runtime_s"))) else None,
            "charge_pct": p.get("battery_charge_pct"), "load_pct": p.get("ups_load_pct"),
            "test_result": p.get("test_result"), "test_date": p.get("test_date"), "error": p.get("error"),
            "runtime": findings.get(("UPS-RUNTIME", ups)), "selftest": findings.get(("UPS-SELFTEST", ups)),
            "chart": Chart(f"{ups} · {translate('runtime', lang)}", translate("unit_min", lang), [Series(ups, points)],
                           low=need_s / 60, tz=tz).svg()})
    return cards


def door_rows(state: AppState, since: datetime) -> tuple[list[dict[str, Any]], list[str]]:
    bad = violation_types(state.controls)
    rows = []
    for h in readmodel.history(state.store, "door", ("access.audit",), since, limit=500):
        p = h.payload
        counts: dict[str, Any] = p["counts"] if isinstance(p.get("counts"), dict) else {}
        rows.append({"at": h.until, "door": h.subject_id, "obs_id": h.obs_id, "events": p.get("events"),
                     "counts": counts,
                     "violations": {k: v for k, v in counts.items() if readmodel.number(v) and k in bad},
                     "breaks": {k: bad[k] for k in counts if k in bad},
                     "period_end": p.get("period_end")})
    return rows, sorted(bad)


@router.get("/machine-room", response_class=HTMLResponse)
def machine_room_page(request: Request, state: StateDep, user: Viewer, hours: int = 48) -> Response:
    hours = max(1, min(hours, 24 * 31))
    lang = request_lang(request, user)
    now = datetime.now(UTC)
    since = now - timedelta(hours=hours)
    bucket_s = max(300, hours * 3600 // CHART_POINTS)
    doors, bad_types = door_rows(state, now - timedelta(days=14))
    door_findings = {(f.control, f.subject_id): f for f in readmodel.findings(state.store, subject_kinds=["door"])}
    sensors = {f.subject_id: f for f in readmodel.findings(state.store, controls=["CLIMATE-RANGE"])}
    return render(request, "machine_room.html", user, ups=ups_cards(state, since, bucket_s, lang),
                  charts=climate_charts(state, since, bucket_s, lang), sensors=sorted(sensors.items()),
                  doors=doors, bad_types=bad_types, door_findings=door_findings, door_controls=DOOR_CONTROLS,
                  hours=hours, door_ids=sorted({s for _, s in door_findings}))
