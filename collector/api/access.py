"""Access audits in the collector: exports uploaded (POST /api/v1/access/audit) or events pushed as
JSON by an integration (POST /api/v1/access/events); either way the same audit runs and one
`access.audit` observation per door is stored (all or nothing)."""
from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from collector.audits.access import AuditResult
from collector.audits.access_report import door_observations
from collector.audits.access_window import remember
from collector.auth import Principal
from collector.deps import StateDep, require
from collector.sources.importers.access_job import audit_push, run_access_audit
from collector.sources.importers.tables import InputError, table_from_records
from collector.state import AppState
from rules.audit_params import audit_thresholds

EVENT_FIELDS = ("time", "door", "badge", "person", "direction", "result", "duration_s")
APPROVAL_FIELDS = ("approval_id", "person", "door", "start", "end", "approved_by")
BADGE_FIELDS = ("badge", "person", "role", "valid_from", "valid_to")

router = APIRouter(prefix="/api/v1/access", tags=["access"])
MAX_UPLOAD_BYTES = 512 * 1024 * 1024


async def _save(upload: UploadFile | None, folder: Path, name: str) -> Path | None:
    if upload is None:
        return None
    suffix = Path(upload.filename or "").suffix.lower() or ".csv"
    path = folder / f"{name}{suffix}"
    size = 0
    with open(path, "wb") as f:
        while chunk := await upload.read(1 << 20):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise HTTPException(413, f"{name}: larger than {MAX_UPLOAD_BYTES} bytes")
            f.write(chunk)
    return path


@router.post("/audit", responses={403: {"description": "token may not write doors"},
                                  422: {"description": "malformed export: file, line and field named; nothing stored"}})
async def upload_audit(state: StateDep, principal: Annotated[Principal, Depends(require("ingest"))],
                       events: Annotated[UploadFile, File()], approvals: Annotated[UploadFile, File()],
                       badges: Annotated[UploadFile, File()], mapping: Annotated[UploadFile | None, File()] = None,
                       site_file: Annotated[UploadFile | None, File()] = None,
                       machine_room_door: Annotated[list[str] | None, Form()] = None,
                       hours: Annotated[str | None, Form()] = None) -> dict:
    """Audit the uploaded events, approvals and badge list (CSV/XLSX) and store the result per door."""
    if not principal.may_write("door", "any"):
        raise HTTPException(403, f"{principal.actor} may not write door audits")
    zone = ZoneInfo(state.settings.site_tz)
    with tempfile.TemporaryDirectory(prefix="cw-access-") as d:
        folder = Path(d)
        files = [await _save(up, folder, name) for name, up in (
            ("events", events), ("approvals", approvals), ("badges", badges))]
        extra = {name: await _save(up, folder, name) for name, up in (("mapping", mapping), ("site", site_file))}
        try:
            ev, ap, bd = (p for p in files if p is not None)
            result = await run_in_threadpool(lambda: run_access_audit(
                ev, ap, bd, zone, site=extra["site"], machine_room_doors=machine_room_door or (), hours=hours,
                mapping=extra["mapping"], limits=audit_thresholds(state.controls, "access.audit")))
        except InputError as e:
            raise HTTPException(422, str(e).replace(d + "/", "")) from None
    return await _store(state, principal, result)


class PushedAudit(BaseModel):
    """Events as the default export's columns, with the approvals and badge list in force."""

    model_config = ConfigDict(extra="forbid")
    events: list[dict[str, Any]] = Field(max_length=1_000_000)
    approvals: list[dict[str, Any]] = Field(default_factory=list)
    badges: list[dict[str, Any]] = Field(default_factory=list)
    machine_room_doors: list[str] = Field(default_factory=list)
    hours: str | None = None


@router.post("/events", responses={403: {"description": "token may not write doors"},
                                   422: {"description": "malformed record, named as events:N; nothing stored"}})
async def push_events(body: PushedAudit, state: StateDep,
                      principal: Annotated[Principal, Depends(require("ingest"))]) -> dict:
    """Audit pushed events `{"events": [{"time", "door", "badge", "person", "direction", "result", "duration_s"}],
    "approvals": [...], "badges": [...], "machine_room_doors"?, "hours"?}` together with the pushes of the last
    day, and store the result per door."""
    if not principal.may_write("door", "any"):
        raise HTTPException(403, f"{principal.actor} may not write door audits")
    events = table_from_records("events", body.events, EVENT_FIELDS)
    approvals = table_from_records("approvals", body.approvals, APPROVAL_FIELDS)
    badges = table_from_records("badges", body.badges, BADGE_FIELDS)
    site, now = _site(state, principal), datetime.now(UTC)
    try:
        result, push = await run_in_threadpool(lambda: audit_push(
            state.store, site, events, approvals, badges, ZoneInfo(state.settings.site_tz), now=now,
            machine_room_doors=body.machine_room_doors, hours=body.hours,
            limits=audit_thresholds(state.controls, "access.audit")))
    except InputError as e:
        raise HTTPException(422, str(e)) from None
    # kept before the result is stored: should storing fail, the agent's retry (or the next push) is
    # audited with these events in its window, where a repeated event counts once
    await run_in_threadpool(remember, state.store, site, push, now)
    return await _store(state, principal, result)


def _site(state: AppState, principal: Principal) -> str:
    return principal.site if principal.kind != "user" else state.settings.site


async def _store(state: AppState, principal: Principal, result: AuditResult) -> dict:
    site = _site(state, principal)
    obs = door_observations(result, site=site, source=principal.actor, observed_at=datetime.now(UTC))
    stored = await run_in_threadpool(state.store.ingest, obs, actor=principal.actor)
    if stored.accepted:
        state.worker.submit(obs)
    state.metrics.observed(principal.actor, principal.kind, stored.accepted, stored.duplicates)
    return {**result.as_dict(), "doors": [o.subject_id for o in obs], "accepted": stored.accepted}
