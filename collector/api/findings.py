"""Findings now, findings at a past moment, and the catalog they come from."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException

from collector.deps import Reader, StateDep
from collector.posture import posture_at
from rules.model import AwareTime

router = APIRouter(prefix="/api/v1", tags=["findings"])


@router.get("/findings")
def list_findings(state: StateDep, _: Reader, control: str | None = None, subject_kind: str | None = None,
                  subject: str | None = None, status: str | None = None, site: str | None = None
                  ) -> list[dict[str, Any]]:
    """Current findings, filtered by control, subject, status or site."""
    if status is not None and status not in ("pass", "fail", "unknown", "not_applicable"):
        raise HTTPException(422, "status must be pass, fail, unknown or not_applicable")
    rows = state.store.current_findings(control=control, subject_kind=subject_kind, subject_id=subject,
                                        status=status, site=site)
    return [{"control": f.control, "subject_kind": f.subject_kind, "subject": f.subject_id, "site": f.site,
             "status": f.status, "since": f.since.isoformat(), "evaluated_at": f.evaluated_at.isoformat(),
             "value": f.value, "reason": {"zh": f.reason_zh, "en": f.reason_en}, "evidence": f.evidence,
             "severity": f.severity} for f in rows]


@router.get("/posture")
def get_posture(state: StateDep, _: Reader, at: AwareTime | None = None, site: str | None = None) -> dict[str, Any]:
    """Every control's status at a past moment, and why, from the findings history (one site's
    subjects with `site`)."""
    when = at or datetime.now(UTC)
    if when.tzinfo is None:
        raise HTTPException(422, "at: give a time with a UTC offset")
    return posture_at(state.store, state.controls, when, site=site)


@router.get("/controls")
def list_controls(state: StateDep, _: Reader) -> list[dict[str, Any]]:
    """The control catalog."""
    return [c.model_dump(mode="json") for c in state.controls]
