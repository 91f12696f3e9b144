"""Alerts: open failing or unknown findings and recent changes; acknowledging one goes into the ledger."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from collector.auth import Principal
from collector.deps import StateDep
from collector.state import AppState
from collector.store.base import Store
from collector.web import readmodel
from collector.web.pagekit import PageError, bad_request, check_csrf, page_for, render

router = APIRouter()
Viewer = Annotated[Principal, Depends(page_for("alerts"))]
_SEVERITY = {"critical": 0, "high": 1, "medium": 2, "low": 3}
SHOWN = 300
MAX_COMMENT = 1000


def deliveries(store: Store, since_ts: float) -> dict[str, list[dict[str, Any]]]:
    """The built-in notifier's deliveries since `since_ts`, by alert fingerprint (newest first)."""
    from collector.notify.log import DeliveryLog

    return DeliveryLog(store).by_fingerprint(datetime.fromtimestamp(since_ts, UTC))


def open_alerts(state: AppState) -> list[dict[str, Any]]:
    from collector.notify.alerts import finding_alert

    acked = readmodel.acks(state.store)
    out: list[dict[str, Any]] = []
    findings = readmodel.findings(state.store, statuses=("fail", "unknown"))
    oldest = min((f.since.timestamp() for f in findings), default=0.0)
    sent = deliveries(state.store, oldest)
    for f in findings:
        ack = acked.get((f.control, f.subject_kind, f.subject_id))
        detail = orjson.loads(ack.detail) if ack else {}
        current_ack = ack if ack and ack.ts >= f.since.timestamp() else None
        notified = [d for d in sent.get(finding_alert(f).fingerprint, []) if d["at"] >= f.since]
        out.append({"f": f, "ack": current_ack, "ack_by": detail.get("by"), "ack_comment": detail.get("comment"),
                    "notified": notified[:3]})
    out.sort(key=lambda a: (a["ack"] is not None, a["f"].status != "fail", _SEVERITY.get(a["f"].severity, 4),
                            -a["f"].since.timestamp()))
    return out


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, state: StateDep, user: Viewer, days: int = 7) -> Response:
    alerts = open_alerts(state)
    since = datetime.now(UTC) - timedelta(days=max(1, min(days, 92)))
    recent = readmodel.events(state.store, since, types=("finding.changed", "alert.acked"), limit=200)
    titles = {c.id: c.title for c in state.controls}
    return render(request, "alerts.html", user, alerts=alerts[:SHOWN], total=len(alerts),
                  unacked=sum(1 for a in alerts if a["ack"] is None), recent=recent, titles=titles, days=days,
                  may_ack=user.can("alerts.ack"), loads=orjson.loads)


@router.post("/alerts/ack")
def acknowledge(state: StateDep, user: Viewer, control: Annotated[str, Form()],
                subject_kind: Annotated[str, Form()], subject_id: Annotated[str, Form()],
                comment: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "") -> Response:
    """Acknowledge an open alert with a comment; recorded in the ledger and the event log."""
    check_csrf(user, csrf_token)
    if not user.can("alerts.ack"):
        raise PageError(403, "forbidden", "alerts.ack")
    comment = comment.strip()
    if not comment or len(comment) > MAX_COMMENT:
        raise bad_request("comment_required")
    f = next((f for f in readmodel.findings(state.store, controls=[control], subject_kinds=[subject_kind])
              if f.subject_id == subject_id), None)
    if f is None or f.status not in ("fail", "unknown"):
        raise bad_request("no_open_alert", f"{control} {subject_kind}/{subject_id}")
    record_ack(state.store, user.actor, user.name, f.control, f.subject_kind, f.subject_id, f.site, f.status,
               comment)
    return RedirectResponse("/alerts", status_code=303)


def record_ack(store: Store, actor: str, by: str, control: str, subject_kind: str, subject_id: str, site: str,
               status: str, comment: str) -> int:
    return store.record_event("alert.acked", actor, {
        "control": control, "subject_kind": subject_kind, "subject_id": subject_id, "status": status,
        "comment": comment}, ts=datetime.now(UTC), subject=(subject_kind, subject_id), site=site,
        detail=orjson.dumps({"by": by, "comment": comment}).decode(), control=control, status=status)
