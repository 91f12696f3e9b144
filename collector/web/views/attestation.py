"""Attestation: a manager signs a period after seeing the telemetry that contradicts it; the history."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from collector.auth import Principal
from collector.deps import StateDep
from collector.people import attest
from collector.strictjson import MAX_BIGINT
from collector.web.pagekit import bad_request, check_csrf, page_for, render, require_permission, site_time, site_zone

router = APIRouter()
Viewer = Annotated[Principal, Depends(page_for("attestations"))]
DEFAULT_PERIOD = timedelta(days=30)


def _period(request: Request, start: str, end: str) -> tuple[datetime, datetime]:
    tz = site_zone(request)
    period = site_time(start, tz, "from"), site_time(end, tz, "to")
    if period[0] >= period[1]:
        raise bad_request("bad_period", f"{start} – {end}")
    return period


@router.get("/attestations", response_class=HTMLResponse)
def attestations_page(request: Request, state: StateDep, user: Viewer, start: str = "", end: str = "",
                      done: int | None = None) -> Response:
    """The history; for a manager who chose a period, what contradicts it before signing."""
    conflicts = failures = None
    if start and end and user.can("attest"):
        period = _period(request, start, end)
        conflicts = attest.contradictions(state.store, state.controls, *period)
        failures = attest.period_failures(state.store, state.controls, *period)
    history = attest.history(state.store)[::-1]
    titles = {c.id: c.title for c in state.controls}
    if not (start or end):  # offer the last 30 days up to the second the page was served, in the site's format
        now = datetime.now(UTC).astimezone(site_zone(request))
        start, end = f"{now - DEFAULT_PERIOD:%Y-%m-%d %H:%M:%S}", f"{now:%Y-%m-%d %H:%M:%S}"
    return render(request, "attestations.html", user, history=history, start=start, end=end, conflicts=conflicts,
                  failures=failures, may_attest=user.can("attest"), titles=titles, done=done)


def _attestation_id(corrects: str) -> int | None:
    """The id of the attestation a signature corrects, as the store looks it up: ASCII digits below 2^63
    (a larger one cannot be bound, and str.isdigit takes '²', which int() refuses)."""
    if not corrects:
        return None
    if not (corrects.isascii() and corrects.isdigit() and int(corrects) <= MAX_BIGINT):
        raise bad_request("attest_refused", f"corrects: {corrects}")
    return int(corrects)


@router.post("/attestations")
def sign(request: Request, state: StateDep, user: Viewer, start: Annotated[str, Form()],
         end: Annotated[str, Form()], statement: Annotated[str, Form(max_length=10_000)],
         corrects: Annotated[str, Form()] = "", acknowledge_failures: Annotated[str, Form()] = "",
         csrf_token: Annotated[str, Form()] = "") -> Response:
    """Sign the period (the same library call as POST /api/v1/attestations)."""
    check_csrf(user, csrf_token)
    require_permission(user, "attest")
    begin, finish = _period(request, start, end)
    try:
        made = attest.attest(state.store, state.controls, start=begin, end=finish, statement=statement,
                             user=user.name, corrects=_attestation_id(corrects),
                             acknowledge_failures=acknowledge_failures == "yes")
    except attest.AttestError as e:
        raise bad_request("attest_refused", str(e)) from None
    return RedirectResponse(f"/attestations?done={made['id']}#history", status_code=303)
