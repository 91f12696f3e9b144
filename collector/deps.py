"""Request dependencies: the service state, who is calling, and what they may do."""
from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from collector.auth import Principal, resolve_token, same
from collector.state import AppState

SESSION_COOKIE = "cw_session"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


# Dependencies that only read what the request holds are `async def`: FastAPI runs a plain `def`
# in its thread pool, a hand-off per dependency and request; the token lookup reads the store and stays there.
async def get_state(request: Request) -> AppState:
    return request.app.state.cw


StateDep = Annotated[AppState, Depends(get_state)]


def _token(request: Request) -> tuple[str | None, bool]:
    """The caller's token and whether it came from the session cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return cookie, cookie is not None


def optional_principal(request: Request, state: StateDep) -> Principal | None:
    token, from_cookie = _token(request)
    if not token:
        return None
    principal = resolve_token(state.store, token)
    if principal is None:
        return None
    # Cookie-authenticated API writes must prove they come from our own pages;
    # web forms check their csrf_token field in collector/web.
    api_write = from_cookie and request.method in UNSAFE and request.url.path.startswith("/api/")
    if api_write and not same(request.headers.get("x-csrf-token"), principal.csrf):
        raise HTTPException(403, "CSRF token missing or wrong")
    return principal


def _authenticated(principal: Principal | None) -> Principal:
    if principal is None:
        raise HTTPException(401, "authentication required: send 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    return principal


async def current_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    return _authenticated(principal)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(permission: str) -> Callable[[Request, AppState], Principal]:
    # one dependency, not three (the caller, then whether there is one, then what it may do): every API call
    # goes through here, and FastAPI's work per dependency is about what the check itself costs
    def check(request: Request, state: StateDep) -> Principal:
        principal = _authenticated(optional_principal(request, state))
        if not principal.can(permission):
            who = principal.role or principal.kind
            raise HTTPException(403, f"{who} may not {permission}")
        return principal

    return check


Reader = Annotated[Principal, Depends(require("read"))]
Admin = Annotated[Principal, Depends(require("users.manage"))]
