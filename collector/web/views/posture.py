"""Posture: every tender clause in order with its controls, counts, trend and what changed."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from collector.auth import Principal
from collector.deps import StateDep
from collector.posture import worst
from collector.web import readmodel
from collector.web.charts import sparkline
from collector.web.pagekit import bad_request, page_for, render
from rules.catalog import load_clauses
from rules.model import Control, in_calendar

router = APIRouter()
Viewer = Annotated[Principal, Depends(page_for("posture"))]
STATUSES = ("fail", "unknown", "excepted", "pass")
TREND_DAYS = 30


def _keep(c: Control, severity: str | None, subject_kind: str | None) -> bool:
    return not (severity and c.severity != severity or subject_kind and c.subject != subject_kind)


def clause_rows(controls: list[Control], per_control: dict[str, Counter[str]], trends: dict[str, list[int]],
                filters: dict[str, str | None]) -> list[dict[str, Any]]:
    narrowed = any(filters.values())
    rows = []
    for clause in sorted(load_clauses().values(), key=lambda c: c.order):
        items: list[dict[str, Any]] = []
        for c in controls:
            if clause.id not in c.clauses or not _keep(c, filters["severity"], filters["subject_kind"]):
                continue
            counts = per_control.get(c.id, Counter())
            overall = worst(list(counts.elements()))
            if filters["status"] and overall != filters["status"]:
                continue
            items.append({"control": c, "counts": counts, "status": overall,
                          "trend": trends.get(c.id, [0] * TREND_DAYS)})
        if items or not narrowed:
            rows.append({"clause": clause, "controls": items,
                         "status": worst([str(x["status"]) for x in items]) if items else "unknown"})
    return rows


def headline(rows: list[dict[str, Any]], controls: list[Control], per_control: dict[str, Counter[str]],
             trends: dict[str, list[int]], unknown_trends: dict[str, list[int]]) -> dict[str, Any]:
    """Clauses met (every control citing it passes), then controls, then subjects, each by status; and the
    clauses met on each of the last days (a control with no failing or unknown subject that day passes)."""
    by_status = {c.id: worst(list(per_control.get(c.id, Counter()).elements())) for c in controls}
    clauses = [r for r in rows if r["controls"]]
    met = [r for r in clauses if all(by_status[x["control"].id] == "pass" for x in r["controls"])]
    evaluated = {c for c, counts in per_control.items() if counts}

    def passed_on(day: int, control: str) -> bool:
        return control in evaluated and not trends.get(control, [0] * TREND_DAYS)[day] \
            and not unknown_trends.get(control, [0] * TREND_DAYS)[day]

    met_trend = [sum(all(passed_on(d, x["control"].id) for x in r["controls"]) for r in clauses)
                 for d in range(TREND_DAYS)]
    met_trend[-1] = len(met)  # today as the headline counts it
    subjects: Counter[str] = Counter()
    for counts in per_control.values():
        subjects.update(counts)
    return {"clauses_met": len(met), "clauses": len(clauses), "met_trend": met_trend,
            "controls": Counter(by_status.values()), "subjects": subjects}


def end_of_day(day: str, tz: ZoneInfo, now: datetime) -> datetime:
    """The last moment of `day` (YYYY-MM-DD) in the site's zone, never later than now."""
    try:
        d = date.fromisoformat(day)
        end = in_calendar(datetime.combine(d + timedelta(days=1), time.min, tz) - timedelta(microseconds=1))
    except (ValueError, OverflowError):  # not a date, or a day outside the calendar (year 1, year 9999)
        raise bad_request("bad_date", day, "as_of_day") from None
    return min(end.astimezone(UTC), now)


@router.get("/", response_class=HTMLResponse)
def posture_page(request: Request, state: StateDep, user: Viewer, status: str | None = None,
                 severity: str | None = None, subject_kind: str | None = None, site: str | None = None,
                 on: str | None = None) -> Response:
    """The posture now, or at the end of day `on` (site time) for an auditor looking back."""
    now = datetime.now(UTC)
    moment = end_of_day(on, ZoneInfo(state.settings.site_tz), now) if on else None
    filters = {"status": status or None, "severity": severity or None, "subject_kind": subject_kind or None,
               "site": site or None}
    counts = readmodel.waived_counts(state.store, readmodel.finding_counts(state.store, moment), moment)
    now = moment or now
    per_control: dict[str, Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    for control, in_site, st, n in counts:
        if not filters["site"] or in_site == filters["site"]:
            per_control[control][st] += n
            totals[st] += n
    trends = readmodel.trend(state.store, now, TREND_DAYS)
    rows = clause_rows(state.controls, per_control, trends, filters)
    everything = clause_rows(state.controls, per_control, trends, dict.fromkeys(filters))
    head = headline(everything, state.controls, per_control, trends,
                    readmodel.trend(state.store, now, TREND_DAYS, "unknown"))
    yesterday = now - timedelta(days=1)
    changes = readmodel.events(state.store, yesterday, limit=40, until=now)
    change_counts = readmodel.change_counts(state.store, yesterday, now)
    titles = {c.id: c.title for c in state.controls}
    return render(request, "posture.html", user, rows=rows, totals=totals, statuses=STATUSES, head=head,
                  kinds=sorted({c.subject for c in state.controls}), sites=sorted({c[1] for c in counts}),
                  filters=filters, on=on if moment else "", moment=moment, changes=changes, titles=titles,
                  sparkline=sparkline,
                  broke=sum(n for (_, to), n in change_counts.items() if to == "fail"),
                  recovered=sum(n for (frm, to), n in change_counts.items() if frm != "pass" and to == "pass"),
                  went_unknown=sum(n for (_, to), n in change_counts.items() if to == "unknown"))
