"""Every route of the app, signed in or not, answers with the security headers (a real server)."""
from __future__ import annotations

import re
from pathlib import Path

import fastapi.routing
import httpx
import pytest
from starlette.routing import Mount

from tests.integration.conftest import PASSWORD

pytestmark = pytest.mark.integration


def app_routes(tmp_path: Path) -> list[tuple[str, str]]:
    """(method, path) of every route the service has, path parameters filled with a placeholder."""
    from collector.app import create_app
    from collector.settings import Settings

    app = create_app(Settings(db=tmp_path / "routes.db", ingest_processes=0))
    # FastAPI ≥ 0.16x keeps included routers whole; iter_route_contexts flattens them as its OpenAPI does
    flatten = getattr(fastapi.routing, "iter_route_contexts", lambda routes: routes)
    found: list[tuple[str, str]] = []
    for route in flatten(app.routes):
        if isinstance(getattr(route, "original_route", route), Mount):
            found.append(("GET", route.path + "/style.css"))
        elif route.path and route.methods:
            path = re.sub(r"\{[^}]+\}", "x", route.path)
            found.extend((m, path) for m in sorted(route.methods) if m != "HEAD")
    assert len(found) > 60 and ("POST", "/lang") in found
    return found


def check_headers(r: httpx.Response, where: str) -> None:
    csp = r.headers.get("content-security-policy", "")
    directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in csp.split(";") if d.strip())
    assert "'unsafe-inline'" not in directives.get("script-src", "'none'"), where
    assert "'unsafe-eval'" not in csp, where
    assert directives.get("frame-ancestors") == "'none'", where
    if where.split()[1] not in ("/docs", "/redoc"):  # the API docs' CDN styles need inline style
        assert csp.startswith("default-src 'self'") and "'unsafe-inline'" not in csp, where
    assert r.headers.get("x-frame-options") == "DENY", where
    assert r.headers.get("x-content-type-options") == "nosniff", where
    assert r.headers.get("referrer-policy") == "same-origin", where


def test_every_route_answers_with_the_security_headers(collector, tmp_path):
    signed_in = httpx.Client(base_url=collector.url, timeout=60)
    assert signed_in.post("/login", data={"username": "admin", "password": PASSWORD}).status_code == 303
    anonymous = httpx.Client(base_url=collector.url, timeout=60)
    statuses = set()
    for method, path in app_routes(tmp_path):
        for who, client in (("anonymous", anonymous), ("admin", signed_in)):
            r = client.request(method, path)
            statuses.add(r.status_code)
            check_headers(r, f"{method} {path} as {who}: {r.status_code}")
    assert {200, 303, 401, 403, 404}.issubset(statuses)  # pages, redirects and refusals alike


def test_the_api_docs_page_admits_only_its_own_inline_script(collector):
    r = httpx.get(collector.url + "/docs")
    assert r.status_code == 200 and "SwaggerUIBundle" in r.text
    script_src = next(d for d in r.headers["content-security-policy"].split(";") if "script-src" in d)
    assert re.search(r"'sha256-[A-Za-z0-9+/]+=*'", script_src) and "'unsafe-inline'" not in script_src
