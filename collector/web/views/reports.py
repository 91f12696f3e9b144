"""Reports: auditors choose a period, format and language and download (the download is in the ledger)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from collector.api.reports import report_download
from collector.auth import Principal
from collector.deps import StateDep
from collector.reports.build import FORMATS
from collector.state import AppState
from collector.web.pagekit import bad_request, check_csrf, page_for, render, site_time, site_zone

router = APIRouter()
Viewer = Annotated[Principal, Depends(page_for("reports"))]
ORDER = ("pdf", "html", "oscal", "csv", "bundle")


def known_sites(state: AppState) -> list[str]:
    """The sites a report may be limited to: every site the store has subjects of."""
    return sorted({site for _, _, site in state.store.subjects()} | {state.settings.site})


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, state: StateDep, user: Viewer) -> Response:
    today = datetime.now(UTC).astimezone(site_zone(request)).date()
    return render(request, "reports.html", user, formats=[f for f in ORDER if f in FORMATS],
                  start=(today - timedelta(days=30)).isoformat(), end=today.isoformat(), sites=known_sites(state))


@router.post("/reports/download")
async def download(request: Request, state: StateDep, user: Viewer, start: Annotated[str, Form()],
                   end: Annotated[str, Form()], fmt: Annotated[str, Form()] = "pdf",
                   lang: Annotated[str, Form()] = "zh", site: Annotated[str, Form()] = "",
                   csrf_token: Annotated[str, Form()] = "") -> Response:
    """From the start of day `start` to the end of day `end` (site time, never past now), of one
    site or (empty) the whole store: the same report and ledger entry as GET /api/v1/reports."""
    check_csrf(user, csrf_token)
    tz = site_zone(request)
    begin = site_time(start, tz, "from")
    finish = min(site_time(end, tz, "to") + timedelta(days=1), datetime.now(UTC))
    if fmt not in FORMATS or lang not in ("zh", "en") or begin >= finish or site and site not in known_sites(state):
        raise bad_request("bad_report", f"{start} – {end} {fmt} {lang} {site}")
    return await report_download(state, user, begin, finish, fmt, lang, site or None)
