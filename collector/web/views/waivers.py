"""Waivers: a manager accepts a finding until a date; active and expired ones listed.
`/waivers`; `/exceptions`, the address of earlier releases, answers the same."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from collector.auth import Principal
from collector.deps import StateDep
from collector.people import waivers
from collector.web.pagekit import bad_request, check_csrf, page_for, render, require_permission, site_time, site_zone

router = APIRouter()
Viewer = Annotated[Principal, Depends(page_for("waivers"))]


@router.get("/waivers", response_class=HTMLResponse)
@router.get("/exceptions", response_class=HTMLResponse)
def waivers_page(request: Request, state: StateDep, user: Viewer, done: int | None = None) -> Response:
    now = datetime.now(UTC)
    every = waivers.waivers(state.store)[::-1]
    return render(request, "waivers.html", user, active=[w for w in every if w.ends_at > now],
                  expired=[w for w in every if w.ends_at <= now], controls=state.controls, done=done,
                  may_approve=user.can("waivers.approve"), titles={c.id: c.title for c in state.controls})


@router.post("/waivers")
@router.post("/exceptions")
def approve(request: Request, state: StateDep, user: Viewer, control: Annotated[str, Form()],
            subject: Annotated[str, Form(max_length=200)], reason: Annotated[str, Form(max_length=4000)],
            end: Annotated[str, Form()], owner: Annotated[str, Form(max_length=64)] = "",
            csrf_token: Annotated[str, Form()] = "") -> Response:
    """Approve a waiver until the start of the day after `end` (site time); the same library call as
    POST /api/v1/waivers. The subject kind is the control's own."""
    check_csrf(user, csrf_token)
    require_permission(user, "waivers.approve")
    spec = next((c for c in state.controls if c.id == control), None)
    if spec is None:
        raise bad_request("waiver_refused", f"control: no control named {control!r}")
    ends_at = site_time(end, site_zone(request), "until_end_of") + timedelta(days=1)
    try:
        w = waivers.approve(state.store, state.controls, control=control, subject_kind=spec.subject,
                            subject_id=subject.strip(), reason=reason, ends_at=ends_at, approver=user.name,
                            owner=owner.strip() or None, site=state.settings.site)
    except waivers.WaiverError as e:
        raise bad_request("waiver_refused", str(e)) from None
    return RedirectResponse(f"/waivers?done={w.id}", status_code=303)
