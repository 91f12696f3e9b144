"""POST /api/v1/observations: batches from agents, sources and importers; atomic and idempotent."""
from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from collector.auth import Principal
from collector.deps import Reader, StateDep, require
from collector.ingest import BatchRejected, IngestBody
from collector.state import AppState
from rules.model import AwareTime

router = APIRouter(prefix="/api/v1", tags=["observations"])


class IngestResponse(BaseModel):
    accepted: int
    duplicates: int
    # the batch's number (the name is kept for agents that read it): above the store's batch base, a batch
    # row the next seal commits to the ledger (docs/ledger-format.md); None when nothing was new
    ledger_seq: int | None
    merkle_root: str | None


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """A JSON schema with its local `$ref`s replaced by what they name (the route reads the body itself,
    so FastAPI does not put the model in the document's components)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inline(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


_BATCH_SCHEMA = IngestBody.model_json_schema()
BATCH_BODY = {"required": True, "content": {"application/json": {
    "schema": _inline(_BATCH_SCHEMA, _BATCH_SCHEMA.get("$defs", {}))}}}


def _reject(state: AppState, code: int, detail: Any) -> HTTPException:
    state.metrics.rejected.labels(str(code)).inc()
    return HTTPException(code, detail)


@router.post("/observations", response_model=IngestResponse, openapi_extra={"requestBody": BATCH_BODY}, responses={
    401: {"description": "no or unknown token"}, 403: {"description": "subject not writable by this token"},
    413: {"description": "batch too large"}, 422: {"description": "malformed batch; nothing stored"}})
async def post_observations(request: Request, state: StateDep,
                            principal: Annotated[Principal, Depends(require("ingest"))]) -> Response:
    """Store a batch `{"observations": [...]}` of at most `max_batch` observations, all or nothing.

    Observations already stored (same `id`) are skipped, so a retried batch changes nothing."""
    started = time.perf_counter()
    limit = state.settings.max_body_bytes
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise _reject(state, 413, f"body of {length} bytes exceeds the limit of {limit} bytes")
    body = await request.body()
    if len(body) > limit:
        raise _reject(state, 413, f"body of {len(body)} bytes exceeds the limit of {limit} bytes")
    try:
        rows = await state.prepare.prepare(body, principal, state.settings.max_batch, datetime.now(UTC),
                                           state.settings.max_clock_skew_s)
    except BatchRejected as e:
        raise _reject(state, e.status, e.detail) from None
    result = await run_in_threadpool(state.store.ingest_rows, rows, actor=principal.actor)
    if result.accepted:
        state.worker.submit_encoded(result.newest)
    state.metrics.observed(principal.actor, principal.kind, result.accepted, result.duplicates)
    state.metrics.latency.observe(time.perf_counter() - started)
    return _answer(result.accepted, result.duplicates, result.ledger_seq, result.merkle_root)


def _answer(accepted: int, duplicates: int, ledger_seq: int | None, merkle_root: str | None) -> Response:
    """The IngestResponse as JSON, written directly: the same bytes FastAPI writes for the model, without
    validating again what the store just gave (ints, and a hex digest or None)."""
    return Response(orjson.dumps({"accepted": accepted, "duplicates": duplicates, "ledger_seq": ledger_seq,
                                  "merkle_root": merkle_root}), media_type="application/json")


MAX_BLOB_BYTES = 20 * 1024 * 1024


@router.put("/blobs/{sha256}", status_code=201, responses={
    409: {"description": "the body does not hash to the SHA-256 in the path"}, 413: {"description": "too large"}})
async def put_blob(sha256: str, request: Request, state: StateDep,
                   principal: Annotated[Principal, Depends(require("ingest"))],
                   name: Annotated[str, Query(min_length=1, max_length=255)] = "attachment") -> dict[str, Any]:
    """Store an evidence attachment (a thumbnail, a floor plan, a log extract) by its SHA-256, so
    observations can reference it in `evidence`. Idempotent: the same bytes are stored once."""
    import hashlib

    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise HTTPException(422, "sha256: 64 lower-case hex digits")
    data = await request.body()
    if len(data) > MAX_BLOB_BYTES:
        raise HTTPException(413, f"attachment larger than {MAX_BLOB_BYTES} bytes")
    if hashlib.sha256(data).hexdigest() != sha256:
        raise HTTPException(409, "the body does not hash to the SHA-256 in the path")
    media = request.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
    ref = await run_in_threadpool(state.store.put_evidence, data, name, media)
    return ref.model_dump()


@router.get("/observations")
def list_observations(state: StateDep, _: Reader, subject_kind: str | None = None, subject: str | None = None,
                      kind: str | None = None, since: AwareTime | None = None, until: AwareTime | None = None,
                      limit: Annotated[int, Query(ge=1, le=5000)] = 100, repeats: bool = False) -> list[dict[str, Any]]:
    """Observations, newest first: those that changed what their subject, kind and key said; with
    `repeats=true`, also every one that repeated it (slower: it reads every repeat kept)."""
    rows = state.store.observations(subject_kind=subject_kind, subject_id=subject, kind=kind, since=since,
                                    until=until, limit=limit, repeats=repeats)
    return [o.model_dump(mode="json") for o in rows]


@router.get("/observations/{obs_id}")
def get_observation(obs_id: str, state: StateDep, _: Reader) -> dict[str, Any]:
    o = state.store.get_observation(obs_id)
    if o is None:
        raise HTTPException(404, f"no observation {obs_id}")
    return o.model_dump(mode="json")
