"""Exceptions (waivers): a manager accepts a finding until a date; active and expired ones listed."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from collector import exceptions as waivers
from collector.auth import Principal
from collector.deps import StateDep
from collector.web.pagekit import bad_request, check_csrf, page_for, render, require_permission, site_time, site_zone

router = APIRouter()
Viewer = Annotated[Principal, Depends(page_for("exceptions"))]


@router.get("/exceptions", response_class=HTMLResponse)
def exceptions_page(request: Request, state: StateDep, user: Viewer, done: int | None = None) -> Response:
    now = datetime.now(UTC)
    every = waivers.waivers(state.store)[::-1]
    tomorrow = (now.astimezone(site_zone(request)) + timedelta(days=1)).strftime("%Y-%m-%d")
    return render(request, "exceptions.html", user, active=[w for w in every if w.ends_at > now],
                  expired=[w for w in every if w.ends_at <= now], controls=state.controls, done=done,
                  may_approve=user.can("exceptions.approve"), titles={c.id: c.title for c in state.controls},
                  tomorrow=tomorrow)


@router.post("/exceptions")
def approve(request: Request, state: StateDep, user: Viewer, control: Annotated[str, Form()],
            subject: Annotated[str, Form(max_length=200)], reason: Annotated[str, Form(max_length=4000)],
            end: Annotated[str, Form()], owner: Annotated[str, Form(max_length=64)] = "",
            csrf_token: Annotated[str, Form()] = "") -> Response:
    """Approve a waiver until the start of the day after `end` (site time); the same library call as
    POST /api/v1/exceptions. The subject kind is the control's own."""
    check_csrf(user, csrf_token)
    require_permission(user, "exceptions.approve")
    spec = next((c for c in state.controls if c.id == control), None)
    if spec is None:
        raise bad_request("waiver_refused", f"control: no control named {control!r}")
    ends_at = site_time(end, site_zone(request), "end") + timedelta(days=1)
    try:
        w = waivers.approve(state.store, state.controls, control=control, subject_kind=spec.subject,
                            subject_id=subject.strip(), reason=reason, ends_at=ends_at, approver=user.name,
                            owner=owner.strip() or None, site=state.settings.site)
    except waivers.ExceptionError as e:
        raise bad_request("waiver_refused", str(e)) from None
    return RedirectResponse(f"/exceptions?done={w.id}", status_code=303)
