"""Drill-down from the posture table: one control, one subject, one observation, one evidence file."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from collector.deps import StateDep
from collector.store.integrity import EvidenceAltered
from collector.web import readmodel
from collector.web.pagekit import PageError, WebUser, not_found, render, require_subject_view
from rules.catalog import load_clauses

router = APIRouter()
_ORDER = {"fail": 0, "unknown": 1, "excepted": 2, "pass": 3}
SHOWN = 200  # failing first; the rest are a click on a subject away
CHANGES_DAYS = 30
CHANGES_SHOWN = 50


@router.get("/controls/{control_id}", response_class=HTMLResponse)
def control_page(control_id: str, request: Request, state: StateDep, user: WebUser) -> Response:
    control = next((c for c in state.controls if c.id == control_id), None)
    if control is None:
        raise not_found(control_id)
    # every finding's status orders and counts them; only the shown ones' evidence is read
    findings = sorted(readmodel.waive(state.store, readmodel.findings(state.store, controls=[control_id])),
                      key=lambda f: (_ORDER.get(f.status, 3), f.subject_id, f.subject_kind))
    shown = findings[:SHOWN]
    evidence = state.store.finding_evidence(control_id, [f.subject_id for f in shown])
    clauses = load_clauses()
    return render(request, "control.html", user, control=control, total=len(findings),
                  findings=[replace(f, evidence=evidence.get((f.subject_kind, f.subject_id), [])) for f in shown],
                  clauses=[clauses[c] for c in control.clauses])


@router.get("/subjects/{kind}/{subject_id:path}", response_class=HTMLResponse)
def subject_page(kind: str, subject_id: str, request: Request, state: StateDep, user: WebUser) -> Response:
    require_subject_view(user, kind)
    findings = readmodel.waive(state.store, state.store.current_findings(subject_kind=kind, subject_id=subject_id))
    observations = state.store.observations(subject_kind=kind, subject_id=subject_id, limit=50)
    # what changed, newest first: each stretch of one status of one control, with its reason
    since = datetime.now(UTC) - timedelta(days=CHANGES_DAYS)
    changes = sorted(state.store.intervals(subject=(kind, subject_id), start=since), key=lambda iv: iv.start,
                     reverse=True)[:CHANGES_SHOWN]
    if not findings and not observations:
        raise not_found(f"{kind}/{subject_id}")
    titles = {c.id: c.title for c in state.controls}
    return render(request, "subject.html", user, kind=kind, subject_id=subject_id, findings=findings,
                  changes=changes, changes_days=CHANGES_DAYS,
                  observations=observations, titles=titles)


@router.get("/observations/{obs_id}", response_class=HTMLResponse)
def observation_page(obs_id: str, request: Request, state: StateDep, user: WebUser) -> Response:
    obs = state.store.get_observation(obs_id)
    if obs is None:
        raise not_found(obs_id)
    require_subject_view(user, obs.subject_kind)
    pretty = json.dumps(obs.payload, ensure_ascii=False, indent=2)
    return render(request, "observation.html", user, obs=obs, pretty=pretty)


@router.get("/evidence-files/{sha256}")
def evidence_file(sha256: str, state: StateDep, user: WebUser) -> Response:
    """An attachment by its SHA-256 (camera thumbnails, uploaded scans), for any signed-in user;
    never one whose bytes no longer match that SHA-256."""
    try:
        data = state.store.read_evidence(sha256)
    except EvidenceAltered:
        raise PageError(409, "evidence_altered", sha256) from None
    if data is None:
        raise not_found(sha256)
    meta = state.store.evidence_meta(sha256)
    media_type = meta[1] if meta else "application/octet-stream"
    inline = media_type.startswith("image/")
    # never let a stored file run as a page of ours
    headers = {"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff",
               "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{sha256[:16]}"',
               "Cache-Control": "private, max-age=86400"}
    return Response(data, media_type=media_type if inline else "application/octet-stream", headers=headers)
