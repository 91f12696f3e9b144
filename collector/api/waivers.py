"""Waivers approved by managers. `/api/v1/waivers`; `/api/v1/exceptions`, the name of earlier
releases, answers the same (deprecated)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from collector.auth import Principal
from collector.deps import Reader, StateDep, require
from collector.people import waivers
from rules.model import AwareTime

router = APIRouter(prefix="/api/v1", tags=["waivers"])
Approver = Annotated[Principal, Depends(require("waivers.approve"))]


class WaiverIn(BaseModel):
    control: str
    subject_kind: str
    subject: str = Field(min_length=1, max_length=200, description="subject id, or '*' for all")
    reason: str = Field(min_length=5, max_length=4000)
    end: AwareTime
    owner: str | None = Field(default=None, max_length=64, description="who must resolve it; default the approver")


@router.post("/waivers", status_code=201)
@router.post("/exceptions", status_code=201, deprecated=True)
def approve_waiver(body: WaiverIn, state: StateDep, principal: Approver) -> dict[str, Any]:
    """Accept a finding for a subject until `end`: it shows `excepted` (never `pass`) until then."""
    try:
        w = waivers.approve(state.store, state.controls, control=body.control, subject_kind=body.subject_kind,
                            subject_id=body.subject, reason=body.reason, ends_at=body.end, approver=principal.name,
                            owner=body.owner, site=state.settings.site)
    except waivers.WaiverError as e:
        raise HTTPException(422, str(e)) from None
    return w.as_dict()


@router.get("/waivers")
@router.get("/exceptions", deprecated=True)
def list_waivers(state: StateDep, _: Reader, active: bool = False) -> list[dict[str, Any]]:
    """Every waiver ever approved, or only those in force now."""
    rows = waivers.active_at(state.store, datetime.now(UTC)) if active else waivers.waivers(state.store)
    return [w.as_dict() for w in rows]
