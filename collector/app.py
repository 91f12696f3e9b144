"""The collector service: a thin FastAPI app over the store, engine and ledger."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from collector.api import access, accounts, attestations, climate, findings, observations, reports
from collector.api import errors as api_errors
from collector.api import evidence as evidence_api
from collector.api import waivers as waivers_api
from collector.api.bodyguard import BodyGuard, body_limits, check_multipart_text, refuse_unreadable_multipart_text
from collector.deps import Reader, StateDep
from collector.heap import settle_heap
from collector.people.reminders import ReminderListener
from collector.settings import Settings
from collector.state import AppState
from collector.web import routes as web
from collector.web.headers import docs_page


def create_app(settings: Settings | None = None, state: AppState | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settle_heap()
        app.state.cw.start()
        try:
            yield
        finally:
            app.state.cw.stop()

    app = FastAPI(title="clausewatch collector", version="0.1.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,  # served below
                  dependencies=[Depends(refuse_unreadable_multipart_text)],
                  description="Observations in, findings and evidence out. Every call needs a bearer token "
                              "(users: POST /api/v1/auth/token; agents: POST /api/v1/enroll).")
    app.state.cw = state or AppState.build(settings)
    app.include_router(observations.router)
    app.include_router(findings.router)
    app.include_router(accounts.router)
    app.include_router(evidence_api.router)
    app.include_router(attestations.router)
    app.include_router(waivers_api.router)
    app.include_router(reports.router)
    app.include_router(climate.router)
    app.include_router(access.router)
    cw = app.state.cw
    owners = {c.id: c.owner_role for c in cw.controls}
    running = (lambda: getattr(getattr(cw, "_notifier", None), "notifier", None)) if cw.settings.notify_config \
        else None
    cw.engine.listeners.append(ReminderListener(cw.store, owners, running))
    app.include_router(web.router)
    web.mount_static(app)
    api_errors.install(app)
    app.add_middleware(BodyGuard, limits=body_limits(settings.max_body_bytes))
    check_multipart_text()

    @app.get("/docs", include_in_schema=False)
    def swagger_docs() -> HTMLResponse:
        return docs_page(get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} API"))

    @app.get("/redoc", include_in_schema=False)
    def redoc_docs() -> HTMLResponse:
        return docs_page(get_redoc_html(openapi_url="/openapi.json", title=f"{app.title} API"))

    @app.get("/healthz", tags=["service"], responses={503: {"description": "The store cannot be read now."}})
    def healthz(state: StateDep) -> dict[str, object]:
        """Readiness for load balancers: 'ok', the ledger head read from the store each time (so a collector
        whose database is away answers 503 with Retry-After and is passed over), and whether this collector
        leads the engine's rounds or follows the one that does (collectors sharing a database)."""
        return {"status": "ok", "ledger_seq": state.store.ledger_head_stored(),
                "role": "leader" if state.worker.leading() else "follower"}

    @app.get("/metrics", tags=["service"])
    def metrics(state: StateDep, _: Reader) -> Response:
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
