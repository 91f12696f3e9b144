"""Server-rendered pages (Jinja2): login, posture, control and subject drill-down."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from collector import auth
from collector.auth import Principal
from collector.deps import SESSION_COOKIE, StateDep, optional_principal
from collector.posture import worst
from collector.web.i18n import translate
from rules.catalog import load_clauses

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)

START_PAGES = {"admin": "/", "security": "/", "auditor": "/", "facility": "/", "manager": "/"}


class LoginRequired(Exception):
    def __init__(self, next_url: str):
        self.next_url = next_url


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={exc.next_url}", status_code=303)


def web_user(request: Request, principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None or principal.kind != "user":
        raise LoginRequired(request.url.path)
    return principal


WebUser = Annotated[Principal, Depends(web_user)]


def _lang(request: Request, principal: Principal | None) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("cw_lang") or (principal.lang if principal else "zh")
    return "en" if lang == "en" else "zh"


def render(request: Request, name: str, principal: Principal | None, status_code: int = 200, **ctx: Any) -> Response:
    lang = _lang(request, principal)
    ctx.update(request=request, user=principal, lang=lang, t=lambda k: translate(k, lang),
               csrf=principal.csrf if principal else "")
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", None, next=next if next.startswith("/") else "/", error=None)


@router.post("/login")
def login_submit(request: Request, state: StateDep, username: Annotated[str, Form()],
                 password: Annotated[str, Form()], next: Annotated[str, Form()] = "/") -> Response:
    from collector.api.accounts import login_or_raise

    address = request.client.host if request.client else "?"
    try:
        name, role, lang = login_or_raise(state, username, password, address)
    except HTTPException as e:
        key = "too_many" if e.status_code == 429 else "login_failed"
        return render(request, "login.html", None, status_code=e.status_code, next=next, error=key)
    token, _, expires = auth.create_session(state.store, name, "web", timedelta(hours=state.settings.session_hours))
    target = next if next.startswith("/") and not next.startswith("//") and next != "/" else START_PAGES[role]
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=state.settings.secure_cookies,
                    max_age=state.settings.session_hours * 3600)
    resp.set_cookie("cw_lang", lang, samesite="lax", secure=state.settings.secure_cookies)
    return resp


def check_csrf(user: Principal, token: str) -> None:
    if not auth.same(token, user.csrf):
        raise HTTPException(403, "CSRF token missing or wrong")


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


@router.get("/lang/{lang}")
def switch_lang(lang: str, request: Request, state: StateDep, user: WebUser) -> Response:
    lang = "en" if lang == "en" else "zh"
    auth.set_lang(state.store, user.name, lang)
    back = request.headers.get("referer") or "/"
    base = str(request.base_url)
    if back.startswith(base):
        back = "/" + back[len(base):]
    resp = RedirectResponse(back if back.startswith("/") and not back.startswith("//") else "/", 303)
    resp.set_cookie("cw_lang", lang, samesite="lax", secure=state.settings.secure_cookies)
    return resp


@router.get("/", response_class=HTMLResponse)
def posture_page(request: Request, state: StateDep, user: WebUser, status: str | None = None,
                 severity: str | None = None, subject_kind: str | None = None) -> Response:
    clauses = load_clauses()
    findings = state.engine.current()
    per_control: dict[str, Counter[str]] = defaultdict(Counter)
    for f in findings:
        per_control[f.control][f.status] += 1
    rows = []
    for clause in sorted(clauses.values(), key=lambda c: c.order):
        controls: list[dict[str, Any]] = []
        for c in state.controls:
            if clause.id not in c.clauses:
                continue
            if severity and c.severity != severity or subject_kind and c.subject != subject_kind:
                continue
            counts = per_control.get(c.id, Counter())
            overall = worst(list(counts.elements()))
            if status and overall != status:
                continue
            controls.append({"control": c, "counts": counts, "status": overall})
        if controls or not (status or severity or subject_kind):
            rows.append({"clause": clause, "controls": controls,
                         "status": worst([str(x["status"]) for x in controls]) if controls else "unknown"})
    totals = Counter(f.status for f in findings)
    kinds = sorted({c.subject for c in state.controls})
    return render(request, "posture.html", user, rows=rows, totals=totals, kinds=kinds,
                  filters={"status": status, "severity": severity, "subject_kind": subject_kind})


@router.get("/controls/{control_id}", response_class=HTMLResponse)
def control_page(control_id: str, request: Request, state: StateDep, user: WebUser) -> Response:
    control = next((c for c in state.controls if c.id == control_id), None)
    if control is None:
        raise HTTPException(404, f"no control {control_id}")
    findings = sorted(state.store.current_findings(control=control_id),
                      key=lambda f: ({"fail": 0, "unknown": 1, "pass": 2}.get(f.status, 3), f.subject_id))
    clauses = load_clauses()
    return render(request, "control.html", user, control=control, findings=findings,
                  clauses=[clauses[c] for c in control.clauses])


@router.get("/subjects/{kind}/{subject_id:path}", response_class=HTMLResponse)
def subject_page(kind: str, subject_id: str, request: Request, state: StateDep, user: WebUser) -> Response:
    findings = state.store.current_findings(subject_kind=kind, subject_id=subject_id)
    observations = state.store.observations(subject_kind=kind, subject_id=subject_id, limit=50)
    if not findings and not observations:
        raise HTTPException(404, f"no subject {kind}/{subject_id}")
    titles = {c.id: c.title for c in state.controls}
    return render(request, "subject.html", user, kind=kind, subject_id=subject_id, findings=findings,
                  observations=observations, titles=titles)


@router.get("/observations/{obs_id}", response_class=HTMLResponse)
def observation_page(obs_id: str, request: Request, state: StateDep, user: WebUser) -> Response:
    obs = state.store.get_observation(obs_id)
    if obs is None:
        raise HTTPException(404, f"no observation {obs_id}")
    pretty = json.dumps(obs.payload, ensure_ascii=False, indent=2)
    return render(request, "observation.html", user, obs=obs, pretty=pretty)
