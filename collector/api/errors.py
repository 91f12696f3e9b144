"""Error answers that can always be sent: a detail echoing what a caller sent (NaN, Infinity, a lone
surrogate, bytes that are not UTF-8) is made printable instead of turning a 4xx into a 500."""
from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from collector.i18n import translate
from collector.store.base import StoreFull, StoreUnavailable

log = logging.getLogger(__name__)


def printable(value: Any) -> Any:
    """`value` with only what JSON in UTF-8 can carry: non-finite numbers and objects as text, lone
    surrogates and undecodable bytes as U+FFFD."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, bool | int) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {printable(str(k)): printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [printable(v) for v in value]
    return printable(str(value))


class SafeJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return super().render(printable(content))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304) or exc.status_code < 200:  # no body allowed
        return Response(status_code=exc.status_code, headers=exc.headers)
    return SafeJSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return SafeJSONResponse({"detail": exc.errors()}, 422)


STORE_FULL_RETRY_S = 300  # how soon a client should try again when the store is full


async def _store_full(request: Request, exc: Exception) -> Response:
    """A write the store had no room for: undone whole, so the sender keeps it and tries again."""
    log.error("store full: %s", exc)
    metrics = getattr(getattr(request.app.state, "cw", None), "metrics", None)
    if metrics is not None:  # for the StoreFull alert (rules/prometheus/store.yml)
        metrics.store_full.inc()
    zh, en = translate("store_full", "zh"), translate("store_full", "en")
    return SafeJSONResponse({"detail": en, "reason": {"zh": zh, "en": en}}, 503,
                            headers={"Retry-After": str(STORE_FULL_RETRY_S)})


STORE_UNAVAILABLE_RETRY_S = 5  # a database restart or a failover takes seconds: agents come back soon


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    """The database is away (a restart, a failover): nothing was done, so any call may simply be repeated;
    /healthz answers this too, so a load balancer sends elsewhere."""
    log.warning("store unavailable: %s", exc)
    zh, en = translate("store_unavailable", "zh"), translate("store_unavailable", "en")
    return SafeJSONResponse({"detail": en, "reason": {"zh": zh, "en": en}}, 503,
                            headers={"Retry-After": str(STORE_UNAVAILABLE_RETRY_S)})


def install(app: FastAPI) -> None:
    """Replace FastAPI's answers to HTTPException and to invalid requests with ones that cannot fail;
    a full store, or a database that cannot be reached, answers 503 with Retry-After on every route."""
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StoreFull, _store_full)
    app.add_exception_handler(StoreUnavailable, _store_unavailable)
