"""Security headers on every response: pages, API answers, static files and errors alike.

Pages load script and style only from our own /static (no inline script, no inline style, no
handlers in markup), may not be framed, and tell other sites nothing of where the user was. A
response that sets its own Content-Security-Policy (evidence files: `sandbox`; the API docs pages)
keeps it.
"""
from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Sequence

from fastapi.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
# FastAPI's docs pages fetch Swagger UI / ReDoc from this CDN and start it with one inline script
DOCS_CDN = "https://cdn.jsdelivr.net"


HeaderList = list[tuple[bytes, bytes]]


class ResponseHeaders:
    """ASGI middleware that edits the headers of every HTTP response; `begin` is called per request
    and returns what edits that request's headers (so it can measure from the request's start)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    def begin(self) -> Callable[[HeaderList], None]:
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        edit = self.begin()

        async def edited(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                edit(headers)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, edited)


class HeaderEdits(ResponseHeaders):
    """Several ResponseHeaders middlewares in one: their edits in the order given, in one pass over each
    response (a middleware of its own costs every message of every response a call and a copy of its headers)."""

    def __init__(self, app: ASGIApp, edits: Sequence[type[ResponseHeaders]]):
        super().__init__(app)
        self.parts = [kind(app) for kind in edits]

    def begin(self) -> Callable[[HeaderList], None]:
        edits = [part.begin() for part in self.parts]

        def edit(headers: HeaderList) -> None:
            for one in edits:
                one(headers)

        return edit


def _add_missing(headers: HeaderList) -> None:
    present = {name.lower() for name, _ in headers}
    headers.extend(h for h in HEADERS if h[0] not in present)


class SecurityHeaders(ResponseHeaders):
    def begin(self) -> Callable[[HeaderList], None]:
        return _add_missing


def docs_page(page: HTMLResponse) -> HTMLResponse:
    """An API docs page with a policy admitting exactly its CDN and its own inline script (by hash)."""
    scripts = re.findall(rb"<script>(.*?)</script>", bytes(page.body), re.S)
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'" for s in scripts)
    page.headers["content-security-policy"] = (
        f"default-src 'self'; script-src 'self' {DOCS_CDN} {hashes}; style-src 'self' 'unsafe-inline' {DOCS_CDN}; "
        f"img-src 'self' data: https:; font-src 'self' https:; worker-src 'self' blob:; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'")
    return page
