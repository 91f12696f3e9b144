"""Login and logout, users, agent enrollment, source tokens."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, Field

from collector import auth
from collector.auth import Principal
from collector.deps import Admin, CurrentPrincipal, Reader, StateDep, require
from collector.state import AppState

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class TokenOut(BaseModel):
    token: str
    role: str
    expires_at: str


def login_or_raise(state: AppState, username: str, password: str, address: str) -> tuple[str, str, str]:
    """Check a password with rate limiting; every attempt lands in the ledger."""
    wait = state.limiter.blocked(username, address)
    if wait:
        raise HTTPException(429, f"too many failed logins; try again in {wait:.0f} s",
                            headers={"Retry-After": str(int(wait) + 1)})
    user = auth.authenticate(state.store, username, password)
    if user is None:
        state.limiter.failed(username, address)
        state.store.ledger_append("login.failed", f"user:{username}", {"address": address})
        raise HTTPException(401, "wrong user name or password")
    state.limiter.succeeded(username, address)
    state.store.ledger_append("login", f"user:{username}", {"address": address})
    return user


@router.post("/auth/token", response_model=TokenOut)
def login(body: LoginIn, request: Request, state: StateDep) -> TokenOut:
    """Exchange a user name and password for a bearer token."""
    address = request.client.host if request.client else "?"
    name, role, _ = login_or_raise(state, body.username, body.password, address)
    from datetime import timedelta

    token, _, expires = auth.create_session(state.store, name, "api", timedelta(hours=state.settings.session_hours))
    return TokenOut(token=token, role=role, expires_at=expires.isoformat())


@router.post("/auth/logout", status_code=204)
def logout(request: Request, state: StateDep, principal: CurrentPrincipal) -> None:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get("cw_session")
    if token and principal.kind == "user":
        auth.end_session(state.store, token)
        state.store.ledger_append("logout", principal.actor, {})


class UserIn(BaseModel):
    name: str
    role: str
    password: str


@router.get("/users")
def users(state: StateDep, _: Admin) -> list[dict[str, Any]]:
    return auth.list_users(state.store)


@router.post("/users", status_code=201)
def add_user(body: UserIn, state: StateDep, principal: Admin) -> dict[str, str]:
    try:
        auth.add_user(state.store, body.name, body.role, body.password, actor=principal.actor)
    except auth.AuthError as e:
        raise HTTPException(422, str(e)) from None
    return {"name": body.name, "role": body.role}


HOST_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}$"


class EnrollIn(BaseModel):
    secret: str = Field(min_length=8, max_length=200)
    host_id: str = Field(pattern=HOST_ID_PATTERN)
    hostname: str | None = Field(default=None, max_length=255)
    reenroll_code: str | None = Field(default=None, max_length=200,
                                      description="needed only when the host is already enrolled")


@router.post("/enroll", responses={401: {"description": "the enroll secret is not valid"},
                                   403: {"description": "the re-enrollment code is wrong, used or expired"},
                                   409: {"description": "the host is already enrolled and no code was given"}})
def enroll(body: EnrollIn, state: StateDep) -> dict[str, str]:
    """An agent exchanges the site's enroll secret for its own token (shown once). A host that is
    already enrolled also needs the one-time code an admin issued for it; its current token keeps
    working until then."""
    try:
        token = auth.enroll(state.store, body.secret, body.host_id, body.hostname, body.reenroll_code)
    except auth.EnrollRefused as e:
        raise HTTPException(403 if e.code_given else 409, str(e)) from None
    except auth.AuthError as e:
        raise HTTPException(401, str(e)) from None
    state.engine.add_subject("host", body.host_id, state.settings.site)
    return {"host_id": body.host_id, "token": token}


AgentsAdmin = Annotated[Principal, Depends(require("agents.manage"))]


@router.post("/enroll-secrets", status_code=201)
def new_enroll_secret(state: StateDep, principal: AgentsAdmin) -> dict[str, str]:
    """Another enroll secret for the site; the ones already out keep working."""
    secret_id, secret = auth.create_enroll_secret(state.store, state.settings.site, actor=principal.actor)
    return {"id": secret_id, "secret": secret}


@router.post("/enroll-secrets/rotate", status_code=201)
def rotate_enroll_secret(state: StateDep, principal: AgentsAdmin) -> dict[str, str]:
    """A new enroll secret that replaces every other secret of the site (revoked at once)."""
    secret_id, secret = auth.create_enroll_secret(state.store, state.settings.site, actor=principal.actor,
                                                  rotate=True)
    return {"id": secret_id, "secret": secret}


@router.post("/agents/{host_id:path}/reenroll-code", status_code=201)  # host ids may hold "/"
def new_reenroll_code(host_id: Annotated[str, Path(pattern=HOST_ID_PATTERN)], state: StateDep,
                      principal: AgentsAdmin) -> dict[str, str]:
    """A one-time code (valid 24 hours) that lets this enrolled host enroll again, e.g. after a reinstall."""
    try:
        code, expires = auth.issue_reenroll_code(state.store, host_id, actor=principal.actor)
    except auth.AuthError as e:
        raise HTTPException(404, str(e)) from None
    return {"host_id": host_id, "code": code, "expires_at": expires.isoformat()}


@router.get("/agents")
def agents(state: StateDep, _: Reader) -> list[dict[str, Any]]:
    return auth.list_agents(state.store)


class SourceIn(BaseModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    subject_kinds: list[str] = Field(min_length=1)


@router.post("/source-tokens", status_code=201)
def new_source_token(body: SourceIn, state: StateDep, principal: AgentsAdmin) -> dict[str, str]:
    from rules.model import SUBJECT_KINDS

    bad = [k for k in body.subject_kinds if k not in SUBJECT_KINDS or k == "host"]
    if bad:
        raise HTTPException(422, f"subject_kinds: not allowed for a source: {', '.join(bad)}")
    token = auth.create_source_token(state.store, body.name, body.subject_kinds, state.settings.site,
                                     actor=principal.actor)
    return {"name": body.name, "token": token}
