"""Every page (they are not in the OpenAPI schema the API fuzz reads) answers hostile query values with
the page or a 4xx page, never a 500: dates at the ends of the calendar, huge and negative numbers, junk."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from collector import auth
from collector.app import create_app
from collector.cli.demo import build_history
from collector.settings import Settings

VALUES = ("9999-12-31T23:59:59-23:59", "0001-01-01", "9999-12-31", "99999999999999999999", "-99999999999", "0", "",
          "x", "1e400", "2026-13-45", "\u0000")
PATHS = {"{kind}": "host", "{subject_id:path}": "host-0001", "{host}": "host-0001", "{lang}": "en"}


def _page_routes(routes):
    for r in routes:
        if hasattr(r, "original_router"):  # an included router
            yield from _page_routes(r.original_router.routes)
        elif isinstance(r, APIRoute) and "GET" in r.methods and not r.path.startswith(("/api/", "/healthz",
                                                                                           "/metrics")):
            yield r


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    db = tmp_path_factory.mktemp("pages") / "cw.db"
    build_history(db, days=0.3, terminals=2, cameras=3, step_minutes=120, end=datetime.now(UTC))
    app = create_app(Settings(db=db))
    client = TestClient(app, raise_server_exceptions=False)
    auth.add_user(app.state.cw.store, "admin", "admin", "correct horse battery")
    client.cookies.set("cw_session", auth.create_session(app.state.cw.store, "admin", "web", timedelta(hours=1))[0])
    yield client, list(_page_routes(app.routes))
    app.state.cw.store.close()


def test_no_page_answers_a_server_error(pages):
    client, routes = pages
    assert len(routes) >= 15, "the pages were not found"
    failed, asked = [], 0
    for route in routes:
        path = route.path
        for name, value in PATHS.items():
            path = path.replace(name, value)
        path = path.replace("{", "").replace("}", "")  # other ids: a value that names nothing
        urls = [path] + [(path, {p.alias: v}) for p in route.dependant.query_params for v in VALUES]
        for url in urls:
            target, params = url if isinstance(url, tuple) else (url, {})
            r = client.get(target, params=params, follow_redirects=False)
            asked += 1
            if r.status_code >= 500:
                failed.append(f"{target} {params}: {r.status_code}")
    assert asked > 150
    assert not failed, "\n".join(failed)
