"""Data lifecycle: batches with their purge deadlines, purge status per host, call and account audits."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from collector.auth import Principal
from collector.deps import StateDep
from collector.proof.canonical import CanonicalError
from collector.state import AppState
from collector.store.areas import Payloads
from collector.web import readmodel
from collector.web.pagekit import PageError, page_for, render

router = APIRouter()
Viewer = Annotated[Principal, Depends(page_for("lifecycle"))]


def _matches(scan: dict[str, Any], batch: str) -> int:
    """How many matches of `batch` a host's scan still found."""
    batches = scan.get("batches")
    return int(readmodel.number(batches.get(batch)) or 0) if isinstance(batches, dict) else 0


def batch_rows(state: AppState, now: datetime, scans: Payloads) -> list[dict[str, Any]]:
    """Each batch with its deadline and the hosts whose newest scan (of `scans`) still finds its data."""
    purged = {f.subject_id: f for f in readmodel.findings(state.store, controls=["BATCH-PURGED"])}
    registered = readmodel.latest_payloads(state.store, "batch", ("batch.registered",))
    rows = []
    for batch in sorted(set(purged) | set(registered)):
        p = registered.get(batch, {}).get("batch.registered", (None, {}))[1]
        holders = sorted((host, n) for host, s in scans.items() if (n := _matches(s["pii.scan"][1], batch)))
        deadline = p.get("deadline")
        try:
            days_left = (datetime.fromisoformat(deadline) - now).total_seconds() / 86400 if deadline else None
        except (TypeError, ValueError):  # a deadline without a UTC offset or not a time at all
            days_left = None
        rows.append({"id": batch, "bank": p.get("bank"), "dispatch_date": p.get("dispatch_date"),
                     "end_date": p.get("end_date"), "deadline": deadline, "rows": p.get("rows"),
                     "days_left": days_left, "finding": purged.get(batch), "holders": holders})
    return rows


def scan_rows(scans: Payloads) -> list[dict[str, Any]]:
    """Each host's newest data scan, hosts still holding bank data first."""
    rows: list[dict[str, Any]] = []
    for host, s in scans.items():
        at, p = s["pii.scan"]
        totals = p.get("totals") or {}
        rows.append({"host": host, "at": at, "full": p.get("full"), "files": p.get("files_scanned"),
                     "hits": readmodel.total(totals), "totals": totals if isinstance(totals, dict) else {},
                     "batches": p.get("batches") if isinstance(p.get("batches"), dict) else {}})
    rows.sort(key=lambda r: (-r["hits"], r["host"]))
    return rows


def audit_rows(state: AppState, subject_kind: str, kind: str, since: datetime) -> list[dict[str, Any]]:
    out = []
    for h in readmodel.history(state.store, subject_kind, (kind,), since, limit=100):
        p = h.payload
        counts: dict[str, Any] = p["counts"] if isinstance(p.get("counts"), dict) else {}
        out.append({"at": h.until, "subject": h.subject_id, "obs_id": h.obs_id,
                    "total": p.get("calls", p.get("events")),
                    "problems": {k: v for k, v in counts.items() if readmodel.number(v)}})
    return out


@router.get("/lifecycle/certificates/{batch_id}", response_class=HTMLResponse)
def certificate_page(batch_id: str, request: Request, state: StateDep, user: Viewer,
                     format: str = "html") -> Response:
    """A batch's purge certificate: every host's latest full scan after the deadline (JSON for auditors)."""
    from collector.people.batches import stored_certificate
    from collector.web.pagekit import not_found

    registered = state.store.latest_for("batch", batch_id).get(("batch.registered", ""))
    if registered is None:
        raise not_found(batch_id)
    try:
        cert = stored_certificate(state.store, registered, datetime.now(UTC))
    except CanonicalError as e:
        raise PageError(422, "bad_certificate", str(e)) from None
    if format == "json":
        return JSONResponse(cert, headers={"Content-Disposition": f'attachment; filename="purge-{batch_id}.json"'})
    return render(request, "certificate.html", user, cert=cert)


@router.get("/lifecycle", response_class=HTMLResponse)
def lifecycle_page(request: Request, state: StateDep, user: Viewer, days: int = 14) -> Response:
    now = datetime.now(UTC)
    since = now - timedelta(days=max(1, min(days, 92)))
    kinds = ("call_system", "collection_system")
    findings = sorted(readmodel.findings(state.store, subject_kinds=kinds),
                      key=lambda f: (f.subject_kind, f.control))
    newest = readmodel.latest_payloads(state.store, "host", ("pii.scan",))  # every host's: read once
    scans = scan_rows(newest)
    titles = {c.id: c.title for c in state.controls}
    return render(request, "lifecycle.html", user, batches=batch_rows(state, now, newest), scans=scans[:50],
                  dirty=sum(1 for s in scans if s["hits"]), scanned=len(scans), findings=findings, titles=titles,
                  calls=audit_rows(state, "call_system", "calls.audit", since),
                  accounts=audit_rows(state, "collection_system", "accounts.audit", since), days=days)
