"""Evidence files for manual controls: upload, list, download, expiry reminders."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Response, UploadFile

from collector.auth import Principal
from collector.deps import Reader, StateDep, require
from collector.people import evidence as ev
from collector.people.reminders import reminders
from collector.state import AppState
from collector.store.integrity import EvidenceAltered
from rules.model import Observation

router = APIRouter(prefix="/api/v1", tags=["evidence"])
Uploader = Annotated[Principal, Depends(require("evidence.upload"))]


class TooLarge(ev.EvidenceError):
    """The file is over the size limit."""


async def accept_upload(state: AppState, actor: str, control: str, file: UploadFile, valid_until: str,
                        note: str, dated: str | None = None) -> Observation:
    """Store an uploaded file for a manual control and queue its observation (API and web form)."""
    data = await file.read(ev.MAX_EVIDENCE_BYTES + 1)
    if len(data) > ev.MAX_EVIDENCE_BYTES:
        raise TooLarge(f"file: larger than {ev.MAX_EVIDENCE_BYTES // (1024 * 1024)} MB")
    tz = ZoneInfo(state.settings.site_tz)
    until = ev.parse_valid_until(valid_until, tz)
    obs = ev.add_evidence(state.store, state.controls, ev.Upload(
        control, data, file.filename or "evidence", until, note, file.content_type, ev.parse_dated(dated)),
        actor=actor, site=state.settings.site, tz=tz)
    state.worker.submit([obs])
    return obs


@router.post("/evidence", status_code=201)
async def upload_evidence(state: StateDep, principal: Uploader, control: Annotated[str, Form()],
                          file: Annotated[UploadFile, File()], valid_until: Annotated[str, Form()],
                          note: Annotated[str, Form(max_length=2000)] = "",
                          dated: Annotated[str | None, Form()] = None) -> dict[str, Any]:
    """Upload a file backing a manual control, valid until a date (end of that day, site time).
    `dated` is the evidence's own date (e.g. the inspection day). A validity beyond the control's
    cadence counted from that date (or the upload day) is capped: `capped`, `valid_until_requested`
    and a `notice` in zh and en say so."""
    try:
        obs = await accept_upload(state, principal.actor, control, file, valid_until, note, dated)
    except TooLarge as e:
        raise HTTPException(413, str(e)) from None
    except ev.EvidenceError as e:
        raise HTTPException(422, str(e)) from None
    p = obs.payload
    return {"control": control, "sha256": p["sha256"], "filename": p["filename"], "size": p["size"],
            "valid_until": p["valid_until"], "uploaded_by": p["uploaded_by"],
            "uploaded_at": obs.observed_at.isoformat(), "observation": obs.id, "cadence": p.get("cadence"),
            "dated": p.get("dated"), "capped": "valid_until_requested" in p,
            "valid_until_requested": p.get("valid_until_requested"),
            "notice": ev.cap_notice({**p, "uploaded_at": obs.observed_at.isoformat()})}


@router.get("/evidence")
def evidence_index(state: StateDep, _: Reader, control: str | None = None) -> list[dict[str, Any]]:
    """Who uploaded which evidence for which control, when, and until when it is valid."""
    return ev.list_evidence(state.store, control=control)


@router.get("/evidence/expiring")
def evidence_expiring(state: StateDep, _: Reader, days: Annotated[int, Query(ge=0, le=3660)] = 14) -> dict[str, Any]:
    """Current evidence expiring within `days` (or expired), and the reminders recorded so far."""
    now = datetime.now(UTC)
    return {"expiring": ev.expiring(state.store, now, timedelta(days=days)), "reminders": reminders(state.store)}


@router.get("/evidence/{sha256}", responses={
    404: {"description": "no evidence file with that SHA-256"},
    409: {"description": "the stored file no longer matches its SHA-256 and is not served"}})
def evidence_file(sha256: str, state: StateDep, principal: Reader) -> Response:
    """The stored bytes of one evidence file (the download is recorded in the ledger); 409 when the
    file no longer matches its SHA-256: altered bytes are never served."""
    try:
        data = state.store.read_evidence(sha256)
    except EvidenceAltered as e:
        raise HTTPException(409, f"{e}: not served") from None
    if data is None:
        raise HTTPException(404, "no evidence file with that SHA-256")
    name, media = state.store.evidence_meta(sha256) or (sha256, "application/octet-stream")
    state.store.ledger_append("evidence.downloaded", principal.actor, {"sha256": sha256})
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
                             "X-Content-SHA256": sha256})
