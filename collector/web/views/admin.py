"""Admin: users and roles, agent enrollment secrets, enrolled agents, and a check of the site's setup."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from collector import auth
from collector.auth import Principal
from collector.deps import StateDep
from collector.i18n import translate
from collector.state import AppState
from collector.web import readmodel
from collector.web.pagekit import check_csrf, not_found, page_for, render, request_lang

router = APIRouter()
Admin = Annotated[Principal, Depends(page_for("admin"))]


def catalog_check(state: AppState) -> dict[str, Any]:
    """Validate the catalog the service judges by; the problems come as file:line: message."""
    from rules.catalog import CONTROLS_DIR

    directory = Path(state.settings.controls_dir or CONTROLS_DIR)
    # validating parses every YAML file: do it again only when a file changed
    stamp = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in directory.glob("*.y*ml"))) \
        if directory.is_dir() else ()
    return _validate(str(directory), stamp)


@lru_cache(maxsize=4)
def _validate(directory: str, stamp: tuple[tuple[str, int], ...]) -> dict[str, Any]:
    from rules.catalog import CatalogError, load_catalog

    try:
        controls = load_catalog(directory)
    except CatalogError as e:
        return {"dir": str(directory), "ok": False, "problems": e.problems, "controls": 0}
    return {"dir": str(directory), "ok": True, "problems": [], "controls": len(controls)}


def enroll_secrets(state: AppState) -> list[dict[str, Any]]:
    now = datetime.now(UTC).timestamp()
    return [{"id": r.id, "site": r.site, "created_at": r.created_at, "expires_at": r.expires_at, "uses": r.uses,
             "active": not r.revoked and (r.expires_at is None or r.expires_at > now)}
            for r in state.store.enroll_secrets()]


def enrollments(state: AppState, limit: int = 50) -> list[dict[str, Any]]:
    """The latest enrollments, refusals and re-enrollment codes, newest first (each is in the ledger too)."""
    since = datetime.fromtimestamp(0, UTC)
    rows = readmodel.events(state.store, since, types=auth.ENROLLMENT_EVENTS, limit=limit, first_only=False)
    return [{"ts": e.ts, "type": e.type, "host_id": e.subject_id, **json.loads(e.detail)} for e in rows]


def _page(request: Request, state: AppState, user: Principal, status_code: int = 200, **extra: Any) -> Response:
    agents = state.store.agents()
    ctx: dict[str, Any] = {"users": auth.list_users(state.store), "roles": auth.ROLES, "secrets": enroll_secrets(state),
                           "agents": agents, "catalog": catalog_check(state), "settings": state.settings,
                           "enrollments": enrollments(state), "new_secret": None, "new_code": None,
                           "user_error": None, "user_added": None}
    ctx.update(extra)
    return render(request, "admin.html", user, status_code=status_code, **ctx)


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, state: StateDep, user: Admin) -> Response:
    return _page(request, state, user)


@router.post("/admin/users", response_class=HTMLResponse)
def add_user(request: Request, state: StateDep, user: Admin, name: Annotated[str, Form()],
             role: Annotated[str, Form()], password: Annotated[str, Form()],
             csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(user, csrf_token)
    try:
        auth.add_user(state.store, name.strip(), role, password, actor=user.actor)
    except auth.AuthError as e:
        return _page(request, state, user, status_code=422, user_error=str(e))
    return _page(request, state, user, user_added=name.strip())


@router.post("/admin/enroll-secrets", response_class=HTMLResponse)
def new_enroll_secret(request: Request, state: StateDep, user: Admin,
                      csrf_token: Annotated[str, Form()] = "", rotate: Annotated[str, Form()] = "") -> Response:
    """A new enroll secret (`rotate`: replacing all others), shown once on the page that answers this form."""
    check_csrf(user, csrf_token)
    secret_id, secret = auth.create_enroll_secret(state.store, state.settings.site, actor=user.actor,
                                                  rotate=bool(rotate))
    resp = _page(request, state, user, new_secret={"id": secret_id, "secret": secret})
    resp.headers["Cache-Control"] = "no-store"
    return resp


@router.post("/admin/users/state", response_class=HTMLResponse)
def user_state(request: Request, state: StateDep, user: Admin, name: Annotated[str, Form()],
               disable: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "") -> Response:
    """Disable a user (sessions end at once) or enable them again; an admin cannot lock themselves out."""
    check_csrf(user, csrf_token)
    if name == user.name:
        refusal = translate("cannot_disable_self", request_lang(request, user))
        return _page(request, state, user, status_code=422, user_error=refusal)
    return _act(request, state, user, lambda: auth.set_disabled(state.store, name, disable == "yes", actor=user.actor))


@router.post("/admin/agents/revoke", response_class=HTMLResponse)
def revoke_agent(request: Request, state: StateDep, user: Admin, host_id: Annotated[str, Form()],
                 csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(user, csrf_token)
    return _act(request, state, user, lambda: auth.revoke_agent(state.store, host_id, actor=user.actor))


def _act(request: Request, state: AppState, user: Principal, action: Callable[[], None]) -> Response:
    """The page again after `action`, or with its refusal and 422."""
    try:
        action()
    except auth.AuthError as e:
        return _page(request, state, user, status_code=422, user_error=str(e))
    return _page(request, state, user)


@router.post("/admin/reenroll-codes", response_class=HTMLResponse)
def new_reenroll_code(request: Request, state: StateDep, user: Admin, host_id: Annotated[str, Form()],
                      csrf_token: Annotated[str, Form()] = "") -> Response:
    """A one-time code for one enrolled host to enroll again, shown once like a new secret."""
    check_csrf(user, csrf_token)
    try:
        code, expires = auth.issue_reenroll_code(state.store, host_id, actor=user.actor)
    except auth.AuthError:
        raise not_found(host_id) from None
    resp = _page(request, state, user, new_code={"host_id": host_id, "code": code, "expires_at": expires})
    resp.headers["Cache-Control"] = "no-store"
    return resp
