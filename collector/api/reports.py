"""Report downloads: GET /api/v1/reports?from=&to=&format=&lang= (every download is in the ledger)."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.concurrency import run_in_threadpool

from collector.auth import Principal
from collector.deps import StateDep, require
from collector.proof.canonical import CanonicalError
from collector.reports.build import FORMATS, MEDIA_TYPES, build_report
from collector.state import AppState
from rules.model import AwareTime

router = APIRouter(prefix="/api/v1", tags=["reports"])
ReportUser = Annotated[Principal, Depends(require("reports"))]


@router.get("/reports")
async def get_report(state: StateDep, principal: ReportUser, start: Annotated[AwareTime, Query(alias="from")],
                     end: Annotated[AwareTime, Query(alias="to")], fmt: Annotated[str, Query(alias="format")] = "pdf",
                     lang: str = "zh", site: str | None = None) -> Response:
    """The evidence report for a period as pdf, html, oscal, csv or bundle (zh or en)."""
    return await report_download(state, principal, start, end, fmt, lang, site)


async def report_download(state: AppState, principal: Principal, start: datetime, end: datetime, fmt: str, lang: str,
                          site: str | None = None) -> Response:
    """Build the report, record the download in the ledger, and send it as an attachment (API and web)."""
    if fmt not in FORMATS:
        raise HTTPException(422, f"format: one of {', '.join(sorted(FORMATS))}")
    if lang not in ("zh", "en"):
        raise HTTPException(422, "lang: zh or en")
    if start.tzinfo is None or end.tzinfo is None or start >= end:
        raise HTTPException(422, "from/to: times with a UTC offset, from before to")
    if start >= datetime.now(UTC):
        raise HTTPException(422, "from: the period starts after now (a report ends when it is generated)")
    tz = ZoneInfo(state.settings.site_tz)
    try:
        data = await run_in_threadpool(build_report, state.store, state.controls, start, end, fmt, lang, site=site,
                                       tz=tz, public_url=state.settings.public_url)
    except CanonicalError as e:  # a reported value the signed digest cannot express
        raise HTTPException(422, f"report: {e}") from None
    digest = hashlib.sha256(data).hexdigest()
    state.store.ledger_append("report.downloaded", principal.actor, {
        "format": fmt, "lang": lang, "from": start.isoformat(), "to": end.isoformat(), "sha256": digest,
        "site": site})
    media, suffix = MEDIA_TYPES[fmt]
    name = f"clausewatch-{start:%Y%m%d}-{end:%Y%m%d}-{lang}{suffix}"
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                     "X-Content-SHA256": digest})
