"""Login and logout, users, agent enrollment, source tokens."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from collector import auth
from collector.auth import Principal
from collector.deps import Admin, CurrentPrincipal, Reader, StateDep, require

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class TokenOut(BaseModel):
    token: str
    role: str
    expires_at: str


def login_or_raise(state: Any, username: str, password: str, address: str) -> tuple[str, str, str]:
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


class EnrollIn(BaseModel):
    secret: str = Field(min_length=8, max_length=200)
    host_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}$")
    hostname: str | None = Field(default=None, max_length=255)


@router.post("/enroll")
def enroll(body: EnrollIn, state: StateDep) -> dict[str, str]:
    """An agent exchanges the site's enroll secret for its own token (shown once)."""
    try:
        token = auth.enroll(state.store, body.secret, body.host_id, body.hostname)
    except auth.AuthError as e:
        raise HTTPException(401, str(e)) from None
    state.engine.add_subject("host", body.host_id, state.settings.site)
    return {"host_id": body.host_id, "token": token}


@router.post("/enroll-secrets", status_code=201)
def new_enroll_secret(state: StateDep, principal: Annotated[Principal, Depends(require("agents.manage"))]
                      ) -> dict[str, str]:
    secret_id, secret = auth.create_enroll_secret(state.store, state.settings.site, actor=principal.actor)
    return {"id": secret_id, "secret": secret}


@router.get("/agents")
def agents(state: StateDep, _: Reader) -> list[dict[str, Any]]:
    return auth.list_agents(state.store)


class SourceIn(BaseModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    subject_kinds: list[str] = Field(min_length=1)


@router.post("/source-tokens", status_code=201)
def new_source_token(body: SourceIn, state: StateDep, principal: Annotated[Principal, Depends(
        require("agents.manage"))]) -> dict[str, str]:
    from rules.model import SUBJECT_KINDS

    bad = [k for k in body.subject_kinds if k not in SUBJECT_KINDS or k == "host"]
    if bad:
        raise HTTPException(422, f"subject_kinds: not allowed for a source: {', '.join(bad)}")
    token = auth.create_source_token(state.store, body.name, body.subject_kinds, state.settings.site,
                                     actor=principal.actor)
    return {"name": body.name, "token": token}
