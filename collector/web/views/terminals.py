"""Terminals: every host with its agent and the status of each terminal control; one page per host."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from collector.auth import Principal
from collector.deps import StateDep
from collector.store.base import Store
from collector.web import readmodel
from collector.web.pagekit import not_found, page_for, render
from collector.web.timeline import TIMELINE_KINDS, fold
from rules.kinds import event_kinds
from rules.observation_names import kind_name

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


SEARCHED = ("host", "hostname", "addresses", "version")  # the row's fields a search matches


def _add_facts(rows: list[dict[str, Any]], facts: dict[str, dict[str, Any]]) -> None:
    for r in rows:
        f = facts.get(r["host"], {})
        r.update(hostname=f.get("hostname") or "", addresses=f.get("addresses") or "", version=f.get("version") or "",
                 lingering_hits=f.get("lingering_hits"))


def search_texts(host: str, latest: dict[str, tuple[float, dict[str, Any]]]) -> list[str]:
    """What a search matches of a host, lower-cased: its id, name, addresses and version as the table
    shows them (a forged number or object as its text)."""
    row = {"host": host}
    _add_facts([row], {host: readmodel.facts_of(latest)})
    return [str(row[k]).lower() for k in SEARCHED]


def matching_hosts(store: Store, q: str, sort: str, descending: bool, status: str) -> tuple[list[str], int]:
    """The hosts matching `q` and `status` in the table's order, and how many hosts there are. The store
    orders, counts and searches them (remaking the texts of hosts whose names or version changed); the
    order of versions also needs every host's version."""
    by_version = sort == "version"
    ordered = store.host_order(COLUMNS, "host" if by_version else sort, descending and not by_version)
    hosts = [h for h, st in ordered if not status or st == status]
    if q:
        store.refresh_host_search([h for h, _ in ordered], readmodel.NAMING_KINDS, search_texts)
        found = store.hosts_matching(q.lower())
        hosts = [h for h in hosts if h in found]
    if by_version:
        rows = [{"host": h} for h in hosts]
        _add_facts(rows, readmodel.host_facts(store, hosts=None, kinds=readmodel.NAMING_KINDS))
        # a stable sort: hosts of one version stay in order, either way; a forged number compares as text
        rows.sort(key=lambda r: str(r["version"]), reverse=descending)
        hosts = [r["host"] for r in rows]
    return hosts, len(ordered)


def _page_rows(store: Store, hosts: list[str]) -> list[dict[str, Any]]:
    """The shown hosts' rows: each column's finding is the worst of the column's controls."""
    if not hosts:
        return []
    statuses, overall = readmodel.host_statuses(store, [c for cs in COLUMNS.values() for c in cs], hosts)
    seen = readmodel.last_seen(store, "host")
    rows = []
    for host in hosts:
        mine = statuses.get(host, {})
        rows.append({"host": host, "last_seen": seen.get(host), "status": overall.get(host, "unknown"),
                     "cols": {name: _worst([mine[c] for c in ctrls if c in mine]) for name, ctrls in COLUMNS.items()}})
    _add_facts(rows, readmodel.host_facts(store, hosts))
    return rows


@router.get("/terminals", response_class=HTMLResponse)
def terminals_page(request: Request, state: StateDep, user: Viewer, q: str = "", sort: str = "status",
                   order: str = "asc", status: str = "", page: int = 1) -> Response:
    sort = sort if sort in SORTS else "status"
    # every host is counted and ordered from one light row; only the page's findings and facts are read
    hosts, total = matching_hosts(state.store, q, sort, order == "desc", status)
    pages = max(1, -(-len(hosts) // PAGE_ROWS))
    page = max(1, min(page, pages))
    shown = _page_rows(state.store, hosts[(page - 1) * PAGE_ROWS:page * PAGE_ROWS])
    stale_before = (datetime.now(UTC) - timedelta(hours=2)).timestamp()
    return render(request, "terminals.html", user, rows=shown,
                  matched=len(hosts), total=total, q=q, sort=sort, order=order, status=status, page=page,
                  pages=pages, columns=list(COLUMNS), stale_before=stale_before)


@router.get("/terminals/{host}", response_class=HTMLResponse)
def terminal_page(host: str, request: Request, state: StateDep, user: Viewer, days: int = 30) -> Response:
    findings = state.store.current_findings(subject_kind="host", subject_id=host)
    latest = readmodel.latest_payloads(state.store, "host", subject_id=host).get(host, {})
    if not findings and not latest:
        raise not_found(f"host/{host}")
    since = datetime.now(UTC) - timedelta(days=max(1, min(days, 92)))
    runs = fold(readmodel.history(state.store, "host", TIMELINE_KINDS, since, subject_id=host, limit=5000))
    # of old days compaction kept only the first event: how many more there were
    events = [k for k in TIMELINE_KINDS if k in event_kinds()]
    compacted = [(day, kind_name(kind), n) for day, kind, n in state.store.events_dropped("host", host, events, since)]
    titles = {c.id: c.title for c in state.controls}
    return render(request, "terminal.html", user, host=host, findings=findings, latest=sorted(latest.items()),
                  runs=runs, compacted=compacted, titles=titles, days=days)

