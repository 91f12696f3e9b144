"""Terminals: every host with its agent and the status of each terminal control; one page per host."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from collector.auth import Principal
from collector.deps import StateDep
from collector.web import readmodel
from collector.web.pagekit import not_found, page_for, render
from collector.web.timeline import TIMELINE_KINDS, fold

router = APIRouter()
Viewer = Annotated[Principal, Depends(page_for("terminals"))]

# table column -> the controls whose worst status it shows
COLUMNS: dict[str, tuple[str, ...]] = {
    "usb": ("USB-BLOCK",), "antivirus": ("AV-RUNNING", "AV-FRESH"), "mail": ("MAIL-EGRESS-BLOCKED",),
    "internet": ("INTERNET-BLOCKED",), "software": ("SOFTWARE-ALLOWLIST",), "lingering": ("NO-LINGERING-DATA",),
}
SORTS = ("host", "last_seen", "version", "status", *COLUMNS)
_RANK = {"fail": 0, "unknown": 1, "pass": 2, "not_applicable": 3, "": 4}
PAGE_ROWS = 100  # a page of 500 rows takes the browser and the server too long on a phone


def _worst(statuses: list[readmodel.HostStatus]) -> readmodel.HostStatus | None:
    return min(statuses, key=lambda f: _RANK.get(f.status, 4), default=None)


def host_rows(worst: dict[str, tuple[str | None, ...]], overall: dict[str, str],
              facts: dict[str, dict[str, Any]], seen: dict[str, float]) -> list[dict[str, Any]]:
    """One light row per host, by host: what the table is searched, filtered, sorted and counted by
    (each column's worst status, not yet the finding behind it)."""
    rows = []
    none = (None,) * len(COLUMNS)
    for host in sorted(set(overall) | set(facts) | set(seen)):
        rows.append({"host": host, "last_seen": seen.get(host), "status": overall.get(host, "unknown"),
                     "worst": dict(zip(COLUMNS, worst.get(host, none), strict=True))})
    _add_facts(rows, facts)
    return rows


def _add_findings(rows: list[dict[str, Any]], statuses: dict[str, dict[str, readmodel.HostStatus]]) -> None:
    """The finding each column of `rows` shows: the worst of the column's controls."""
    for r in rows:
        mine = statuses.get(r["host"], {})
        r["cols"] = {name: _worst([mine[c] for c in ctrls if c in mine]) for name, ctrls in COLUMNS.items()}


def _add_facts(rows: list[dict[str, Any]], facts: dict[str, dict[str, Any]]) -> None:
    for r in rows:
        f = facts.get(r["host"], {})
        r.update(hostname=f.get("hostname") or "", addresses=f.get("addresses") or "", version=f.get("version") or "",
                 lingering_hits=f.get("lingering_hits"))


def _sort(rows: list[dict[str, Any]], key: str, descending: bool) -> list[dict[str, Any]]:
    def by(r: dict[str, Any]) -> Any:
        if key in COLUMNS:
            return (_RANK.get(r["worst"][key] or "", 4), r["host"])
        if key == "status":
            return (_RANK.get(r["status"], 4), r["host"])
        if key == "last_seen":
            return r["last_seen"] or 0
        return r[key] or ""

    return sorted(rows, key=by, reverse=descending)


def _matches(row: dict[str, Any], q: str) -> bool:
    q = q.lower()
    return any(q in str(row[k]).lower() for k in ("host", "hostname", "addresses", "version"))


@router.get("/terminals", response_class=HTMLResponse)
def terminals_page(request: Request, state: StateDep, user: Viewer, q: str = "", sort: str = "status",
                   order: str = "asc", status: str = "", page: int = 1) -> Response:
    sort = sort if sort in SORTS else "status"
    # every host is counted, filtered and sorted from one light row; only the page's findings are read
    worst, overall = state.store.host_column_statuses(list(COLUMNS.values()))
    # searching or sorting by version needs every host's names and version; otherwise only the page's are read
    everyone = bool(q) or sort == "version"
    facts = readmodel.host_facts(state.store, kinds=readmodel.NAMING_KINDS) if everyone else {}
    rows = host_rows(worst, overall, facts, readmodel.last_seen(state.store, "host"))
    total = len(rows)
    if q:
        rows = [r for r in rows if _matches(r, q)]
    if status:
        rows = [r for r in rows if r["status"] == status]
    rows = _sort(rows, sort, order == "desc")
    pages = max(1, -(-len(rows) // PAGE_ROWS))
    page = max(1, min(page, pages))
    shown = rows[(page - 1) * PAGE_ROWS:page * PAGE_ROWS]
    hosts = [r["host"] for r in shown]
    _add_facts(shown, readmodel.host_facts(state.store, hosts))
    _add_findings(shown, readmodel.host_statuses(state.store, [c for cs in COLUMNS.values() for c in cs], hosts)[0])
    stale_before = (datetime.now(UTC) - timedelta(hours=2)).timestamp()
    return render(request, "terminals.html", user, rows=shown,
                  matched=len(rows), total=total, q=q, sort=sort, order=order, status=status, page=page,
                  pages=pages, columns=list(COLUMNS), stale_before=stale_before)


@router.get("/terminals/{host}", response_class=HTMLResponse)
def terminal_page(host: str, request: Request, state: StateDep, user: Viewer, days: int = 30) -> Response:
    findings = state.store.current_findings(subject_kind="host", subject_id=host)
    latest = readmodel.latest_payloads(state.store, "host", subject_id=host).get(host, {})
    if not findings and not latest:
        raise not_found(f"host/{host}")
    since = datetime.now(UTC) - timedelta(days=max(1, min(days, 92)))
    runs = fold(readmodel.history(state.store, "host", TIMELINE_KINDS, since, subject_id=host, limit=5000))
    titles = {c.id: c.title for c in state.controls}
    return render(request, "terminal.html", user, host=host, findings=findings, latest=sorted(latest.items()),
                  runs=runs, titles=titles, days=days)

