"""Evidence and attestation: manual controls with their evidence and expiry; exports for auditors."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from collector.api.evidence import accept_upload
from collector.auth import Principal
from collector.deps import StateDep
from collector.people import evidence as ev
from collector.state import AppState
from collector.store.base import Store
from collector.web import readmodel
from collector.web.pagekit import check_csrf, page_for, render, request_lang, require_permission

router = APIRouter()
Viewer = Annotated[Principal, Depends(page_for("evidence"))]
_ORDER = {"fail": 0, "unknown": 1, "pass": 2}
UPLOADS_SHOWN = 100
EXPIRING_WITHIN = timedelta(days=14)  # as the expiry reminders


def manual_rows(state: AppState) -> list[dict[str, Any]]:
    site = state.settings.site
    findings = {f.control: f for f in readmodel.findings(state.store, subject_kinds=["site"], with_value=True)}
    uploads = readmodel.latest_payloads(state.store, "site", ("manual.evidence",), subject_id=site).get(site, {})
    rows: list[dict[str, Any]] = []
    for c in state.controls:
        if not c.manual:
            continue
        f = findings.get(c.id)
        at, p = uploads.get(f"manual.evidence:{c.id}", (None, {}))
        value = f.value if f else {}
        if at is not None and (f is None or f.evaluated_at.timestamp() < at) and p.get("valid_until"):
            # an upload the engine has not judged yet: its validity, not the old evidence's, decides the row
            left = datetime.fromisoformat(p["valid_until"]) - datetime.now(UTC)
            value = {"days_left": left.total_seconds() / 86400, "expiring": timedelta(0) < left <= EXPIRING_WITHIN}
        rows.append({"control": c, "finding": f, "uploaded_at": at, "valid_until": p.get("valid_until"),
                     "days_left": value.get("days_left"), "expiring": bool(value.get("expiring")),
                     "file": p.get("filename"), "sha256": p.get("sha256"), "uploaded_by": p.get("uploaded_by"),
                     "note": p.get("note")})
    rows.sort(key=lambda r: (_ORDER.get(r["finding"].status if r["finding"] else "unknown", 1),
                             not r["expiring"], r["days_left"] if r["days_left"] is not None else 1e9))
    return rows


def uploads(store: Store, now: datetime | None = None) -> list[dict[str, Any]]:
    """The newest uploads, each marked expired or expiring within the reminder window."""
    now = now or datetime.now(UTC)
    rows = ev.list_evidence(store, limit=UPLOADS_SHOWN)
    for u in rows:
        left = datetime.fromisoformat(u["valid_until"]) - now if u.get("valid_until") else None
        u["state"] = "" if left is None else "expired" if left.total_seconds() <= 0 else (
            "expiring" if left <= EXPIRING_WITHIN else "")
    return rows


@router.get("/evidence", response_class=HTMLResponse)
def evidence_page(request: Request, state: StateDep, user: Viewer) -> Response:
    return _page(request, state, user)


def _page(request: Request, state: AppState, user: Principal, status_code: int = 200, form_error: str | None = None,
          form: dict[str, str] | None = None) -> Response:
    """The page; after a refused upload, with the reason beside the form and what was typed kept."""
    rows = manual_rows(state)
    recent = uploads(state.store)
    uploaded = request.query_params.get("uploaded")
    mine = next((u for u in recent if uploaded and u["sha256"] == uploaded), None)
    ledger = next(iter(readmodel.findings(state.store, controls=["LEDGER-INTACT"])), None)
    checkpoints = state.store.checkpoint_summary()
    return render(request, "evidence.html", user, status_code, rows=rows, ledger=ledger,
                  ledger_seq=state.store.ledger_head(), form_error=form_error, form=form or {},
                  checkpoints=checkpoints[0], last_checkpoint=checkpoints[1],
                  expired=sum(1 for r in rows if r["finding"] and r["finding"].status == "fail"),
                  expiring=sum(1 for r in rows if r["expiring"]), may_export=user.can("reports"),
                  may_upload=user.can("evidence.upload"), uploads=recent, uploaded=uploaded,
                  cap_notice=ev.cap_notice(mine) if mine else None)


@router.post("/evidence/upload")
async def upload(request: Request, state: StateDep, user: Viewer, control: Annotated[str, Form()],
                 file: Annotated[UploadFile, File()],
                 valid_until: Annotated[str, Form()], note: Annotated[str, Form(max_length=2000)] = "",
                 dated: Annotated[str | None, Form()] = None, csrf_token: Annotated[str, Form()] = "") -> Response:
    """Upload evidence for a manual control: the same rules as POST /api/v1/evidence."""
    check_csrf(user, csrf_token)
    require_permission(user, "evidence.upload")
    try:
        obs = await accept_upload(state, user.actor, control, file, valid_until, note, dated)
    except ev.EvidenceError as e:
        lang = request_lang(request, user)
        return _page(request, state, user, 400, e.zh if lang == "zh" else str(e),
                     {"control": control, "valid_until": valid_until, "dated": dated or "", "note": note})
    return RedirectResponse(f"/evidence?uploaded={obs.payload['sha256']}#uploads", status_code=303)
