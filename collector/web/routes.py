"""Server-rendered pages (Jinja2): sign-in, language, and the views of each role."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from collector import auth
from collector.deps import SESSION_COOKIE, StateDep, optional_principal
from collector.web.headers import HeaderEdits, SecurityHeaders
from collector.web.pagekit import HERE, LoginRequired, PageError, WebUser, check_csrf, render
from collector.web.roles import START_PAGES
from collector.web.timing import ServerTiming
from collector.web.views import (
    admin,
    alerts,
    attestation,
    cameras,
    drill,
    evidence,
    facility,
    lifecycle,
    posture,
    reports,
    terminals,
    waivers,
)

router = APIRouter(include_in_schema=False)
for _view in (posture, drill, terminals, cameras, facility, lifecycle, alerts, evidence, attestation, waivers,
              reports, admin):
    router.include_router(_view.router)


def mount_static(app: FastAPI) -> None:
    """Static files, the login redirect, HTML error pages, security headers and the Server-Timing header."""
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_middleware(HeaderEdits, edits=(SecurityHeaders, ServerTiming))  # the timing's header last, as it was

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={exc.next_url}", status_code=303)

    @app.exception_handler(PageError)
    async def _error_page(request: Request, exc: PageError) -> Response:
        try:
            user = optional_principal(request, request.app.state.cw)
        except HTTPException:
            user = None
        return render(request, "error.html", user, status_code=exc.status_code, key=exc.key, detail=exc.detail,
                      field=exc.field)


def _safe_next(target: str) -> bool:
    return target.startswith("/") and not target.startswith("//") and "\\" not in target


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "") -> Response:
    return render(request, "login.html", None, next=next if _safe_next(next) else "", error=None)


@router.post("/login")
def login_submit(request: Request, state: StateDep, username: Annotated[str, Form()],
                 password: Annotated[str, Form()], next: Annotated[str, Form()] = "") -> Response:
    from collector.api.accounts import login_or_raise

    address = request.client.host if request.client else "?"
    try:
        name, role, lang = login_or_raise(state, username, password, address)
    except HTTPException as e:
        key = "too_many" if e.status_code == 429 else "login_failed"
        page = render(request, "login.html", None, status_code=e.status_code, next=next, error=key)
        page.headers.update(e.headers or {})  # Retry-After
        return page
    token, _, expires = auth.create_session(state.store, name, "web", timedelta(hours=state.settings.session_hours))
    target = next if _safe_next(next) and next != "/" else START_PAGES[role]
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=state.settings.secure_cookies,
                    max_age=state.settings.session_hours * 3600)
    resp.set_cookie("cw_lang", lang, samesite="lax", secure=state.settings.secure_cookies)
    return resp


@router.post("/logout")
def logout(request: Request, state: StateDep, user: WebUser, csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(user, csrf_token)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        auth.end_session(state.store, token)
        state.store.ledger_append("logout", user.actor, {})
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp


@router.post("/lang")
def switch_lang(state: StateDep, user: WebUser, lang: Annotated[str, Form()] = "zh",
                next: Annotated[str, Form()] = "/", csrf_token: Annotated[str, Form()] = "") -> Response:
    """Switch the language and remember it for this user (every later session starts in it)."""
    check_csrf(user, csrf_token)
    lang = "en" if lang == "en" else "zh"
    auth.set_lang(state.store, user.name, lang)
    resp = RedirectResponse(next if _safe_next(next) else "/", 303)
    resp.set_cookie("cw_lang", lang, samesite="lax", secure=state.settings.secure_cookies)
    return resp


@router.get("/home")
def home(user: WebUser) -> Response:
    """The start page of the signed-in user's role."""
    return RedirectResponse(START_PAGES.get(user.role or "", "/"), 303)
