"""Read-only queries the pages need, shaped for display and kept cheap.

They read raw rows and JSON payloads (orjson) instead of building full Observation models:
a terminal table for 500 hosts touches thousands of rows and must stay well under 300 ms.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from collector import exceptions
from collector.store.base import StoredFinding
from collector.store.sqlite import SqliteStore

Payloads = dict[str, dict[str, tuple[float, dict[str, Any]]]]


def number(value: Any) -> float | None:
    """A payload value as a number, or None: sources in the field send strings, nulls and worse."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def total(counts: Any) -> int:
    """The sum of a {name: count} payload field, ignoring what is not a number."""
    if not isinstance(counts, dict):
        return 0
    return int(sum(n for n in (number(v) for v in counts.values()) if n is not None))


def stored_payload(body: bytes) -> dict[str, Any]:
    """The payload of a stored observation's body; empty for a damaged row, which then costs only its own line."""
    try:
        payload = orjson.loads(body).get("payload", {})
    except (orjson.JSONDecodeError, AttributeError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _marks(n: int) -> str:
    return ",".join("?" * n)


def latest_payloads(store: SqliteStore, subject_kind: str, kinds: Sequence[str] | None = None,
                    subject_id: str | None = None, subject_ids: Sequence[str] | None = None) -> Payloads:
    """subject id -> kind (or 'kind:key' when keyed) -> (observed_at, payload), newest of each."""
    # the payload of the row holding the current meaning; the time of the newest, a repeat of it or itself
    sql = ("SELECT l.subject_id, l.kind, l.key, CASE WHEN l.repeat_id IS NULL THEN o.observed_at ELSE l.observed_at"
           " END, o.body FROM latest l JOIN observations o ON o.rowid = l.obs_rowid WHERE l.subject_kind = ?")
    args: list[Any] = [subject_kind]
    if kinds is not None:
        sql += f" AND l.kind IN ({_marks(len(kinds))})"
        args += kinds
    if subject_id is not None:
        sql += " AND l.subject_id = ?"
        args.append(subject_id)
    if subject_ids is not None:
        sql += f" AND l.subject_id IN ({_marks(len(subject_ids))})"
        args += subject_ids
    out: Payloads = defaultdict(dict)
    for sid, kind, key, at, body in store.read.execute(sql, args):
        out[sid][f"{kind}:{key}" if key else kind] = (at, stored_payload(body))
    return out


def last_seen(store: SqliteStore, subject_kind: str) -> dict[str, float]:
    rows = store.read.execute("SELECT id, last_seen FROM subjects WHERE kind = ?", (subject_kind,))
    return dict(rows.fetchall())


def history(store: SqliteStore, subject_kind: str, kinds: Sequence[str], since: datetime,
            subject_id: str | None = None, limit: int = 2000) -> list[tuple[float, str, str, str, dict[str, Any]]]:
    """(observed_at, subject id, kind, observation id, payload), newest first."""
    sql = (f"SELECT observed_at, subject_id, kind, id, body FROM observations WHERE kind IN ({_marks(len(kinds))})"
           " AND subject_kind = ? AND observed_at >= ?")
    args: list[Any] = [*kinds, subject_kind, since.timestamp()]
    if subject_id is not None:
        sql += " AND subject_id = ?"
        args.append(subject_id)
    sql += " ORDER BY observed_at DESC LIMIT ?"
    rows = store.read.execute(sql, [*args, limit]).fetchall()
    return [(at, sid, kind, oid, stored_payload(body)) for at, sid, kind, oid, body in rows]


def series(store: SqliteStore, subject_kind: str, kind: str, fields: Sequence[str], since: datetime,
           bucket_s: int) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """subject id -> field -> [(bucket start, mean value)], averaged in SQL so a busy sensor stays cheap."""
    cols = ", ".join(f"avg(json_extract(CAST(body AS TEXT), '$.payload.{f}'))" for f in fields)
    sql = (f"SELECT subject_id, CAST(observed_at / ? AS INTEGER) AS b, {cols} FROM observations"
           " WHERE kind = ? AND observed_at >= ? AND subject_kind = ? GROUP BY subject_id, b ORDER BY subject_id, b")
    out: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for row in store.read.execute(sql, (bucket_s, kind, since.timestamp(), subject_kind)):
        sid, b = row[0], row[1]
        for f, v in zip(fields, row[2:], strict=True):
            if v is not None:
                out[sid][f].append((b * bucket_s, float(v)))
    return out


def trend(store: SqliteStore, now: datetime, days: int = 30, status: str = "fail") -> dict[str, list[int]]:
    """control -> subjects with `status` at the end of each of the last `days` days (oldest first)."""
    samples = [(now - timedelta(days=days - 1 - i)).timestamp() for i in range(days)]
    # two arms so each walks the (status, end) index: intervals still open, and those ended in the window
    rows = store.read.execute(
        "SELECT control, start, end FROM finding_intervals WHERE status = ? AND end IS NULL AND start <= ?"
        " UNION ALL SELECT control, start, end FROM finding_intervals WHERE status = ? AND end > ?"
        " AND start <= ?", (status, samples[-1], status, samples[0], samples[-1]))
    out: dict[str, list[int]] = {}
    for control, start, end in rows:
        counts = out.setdefault(control, [0] * days)
        first = bisect_left(samples, start)
        stop = days if end is None else bisect_right(samples, end - 1e-6)
        for i in range(first, stop):
            counts[i] += 1
    return out


@dataclass
class Event:
    id: int
    ts: float
    type: str
    control: str | None
    subject_kind: str | None
    subject_id: str | None
    from_status: str | None
    to_status: str | None
    detail: str


def events(store: SqliteStore, since: datetime, *, types: Iterable[str] = ("finding.changed",),
           limit: int = 200, first_only: bool = True, until: datetime | None = None) -> list[Event]:
    """Events newest first; `first_only` drops the first finding of a subject (from nothing to something)."""
    types = list(types)
    sql = (f"SELECT id, ts, type, control, subject_kind, subject_id, from_status, to_status, detail FROM events"
           f" WHERE ts >= ? AND ts < ? AND type IN ({_marks(len(types))})")
    if first_only:
        sql += " AND (from_status IS NOT NULL OR type != 'finding.changed')"
    sql += " ORDER BY ts DESC, id DESC LIMIT ?"
    end = until.timestamp() if until else float("inf")
    return [Event(*r) for r in store.read.execute(sql, [since.timestamp(), end, *types, limit])]


def change_counts(store: SqliteStore, since: datetime, until: datetime) -> dict[tuple[str | None, str], int]:
    """(from status, to status) -> how many findings changed that way between `since` and `until`."""
    rows = store.read.execute(
        "SELECT from_status, to_status, count(*) FROM events WHERE ts >= ? AND ts < ? AND type = 'finding.changed'"
        " AND from_status IS NOT NULL GROUP BY from_status, to_status", (since.timestamp(), until.timestamp()))
    return {(f, t): n for f, t, n in rows}


def acks(store: SqliteStore) -> dict[tuple[str, str, str], Event]:
    """The newest acknowledgement of each (control, subject kind, subject id)."""
    rows = store.read.execute(
        "SELECT id, ts, type, control, subject_kind, subject_id, from_status, to_status, detail FROM events"
        " WHERE type = 'alert.acked' ORDER BY ts")
    return {(e.control or "", e.subject_kind or "", e.subject_id or ""): e for e in (Event(*r) for r in rows)}


def findings(store: SqliteStore, *, subject_kinds: Iterable[str] | None = None,
             controls: Iterable[str] | None = None, statuses: Iterable[str] | None = None,
             with_value: bool = False) -> list[StoredFinding]:
    """Current findings straight from the store: a page never waits for an evaluation in progress.

    `value` and `evidence` are parsed only `with_value` (else left empty): most pages need neither."""
    where: list[str] = []
    args: list[Any] = []
    for col, values in (("subject_kind", subject_kinds), ("control", controls), ("status", statuses)):
        if values is not None:
            values = list(values)
            where.append(f"{col} IN ({_marks(len(values))})")
            args += values
    sql = ("SELECT control, subject_kind, subject_id, site, status, since, evaluated_at, reason_zh, reason_en,"
           " severity" + (", value, evidence" if with_value else "") + " FROM findings")
    if where:
        sql += " WHERE " + " AND ".join(where)
    out = []
    for r in store.read.execute(sql, args):
        out.append(StoredFinding(r[0], r[1], r[2], r[3], r[4], datetime.fromtimestamp(r[5], UTC),
                                 datetime.fromtimestamp(r[6], UTC), orjson.loads(r[10]) if with_value else {},
                                 r[7], r[8], orjson.loads(r[11]) if with_value else [], r[9]))
    return out


def finding_counts(store: SqliteStore, at: datetime | None = None) -> list[tuple[str, str, str, int]]:
    """(control, site, status, how many subjects), now or at a past moment (from the findings history)."""
    if at is None:
        return store.read.execute(
            "SELECT control, site, status, count(*) FROM findings GROUP BY control, site, status").fetchall()
    t = at.timestamp()
    return store.read.execute(
        "SELECT control, site, status, count(*) FROM finding_intervals WHERE start <= ? AND (end IS NULL OR end > ?)"
        " GROUP BY control, site, status", (t, t)).fetchall()


@dataclass
class HostStatus:
    control: str
    status: str
    reason_zh: str
    reason_en: str


def host_statuses(store: SqliteStore, controls: Sequence[str]) -> tuple[
        dict[str, dict[str, HostStatus]], dict[str, str]]:
    """For the terminal table: host -> control -> status (only `controls`), and host -> worst status of all."""
    per: dict[str, dict[str, HostStatus]] = defaultdict(dict)
    rows = store.read.execute(
        f"SELECT subject_id, control, status, reason_zh, reason_en FROM findings WHERE subject_kind = 'host'"
        f" AND control IN ({_marks(len(controls))})", list(controls))
    for host, control, status, zh, en in rows:
        per[host][control] = HostStatus(control, status, zh, en)
    # the worst status of all a host's controls: only failing and unknown rows are read (status index)
    overall = dict.fromkeys(per, "pass")
    for host, status in store.read.execute(
            "SELECT subject_id, status FROM findings WHERE status IN ('fail', 'unknown') AND subject_kind = 'host'"):
        if overall.get(host) != "fail":
            overall[host] = status
    return per, overall


def host_facts(store: SqliteStore, hosts: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """host -> agent version, host name, addresses and lingering-data matches from its newest reports."""
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    latest = latest_payloads(store, "host", ("agent.heartbeat", "host.identity", "pii.scan"), subject_ids=hosts)
    for host, kind, (_, p) in ((h, k, v) for h, kinds in latest.items() for k, v in kinds.items()):
        facts = out[host]
        if kind == "agent.heartbeat":
            facts["version"] = p.get("version") or facts.get("version")
        elif kind == "host.identity":
            found = p.get("addresses")
            facts.update(hostname=p.get("hostname"), addresses=", ".join(map(str, found)) if isinstance(found, list)
                         else str(found or ""))
            facts["version"] = facts.get("version") or p.get("agent_version")
        else:
            facts["lingering_hits"] = total(p.get("totals"))
    return out


def waived_counts(store: SqliteStore, counts: list[tuple[str, str, str, int]], at: datetime | None = None
                  ) -> list[tuple[str, str, str, int]]:
    """`finding_counts` with failing or unknown subjects under a running waiver counted as `excepted`
    (the overlay of collector.posture: a waived failure never shows as a pass)."""
    moment = at or datetime.now(UTC)
    active = exceptions.active_at(store, moment)
    if not active:
        return counts
    covered: set[tuple[str, str, str, str]] = set()
    for w in active:
        if at is None:
            sql, args = "SELECT site, subject_id, status FROM findings WHERE control = ? AND subject_kind = ?", []
        else:
            t = at.timestamp()
            sql = ("SELECT site, subject_id, status FROM finding_intervals WHERE control = ? AND subject_kind = ?"
                   " AND start <= ? AND (end IS NULL OR end > ?)")
            args = [t, t]
        sql += " AND status IN ('fail', 'unknown')" + ("" if w.subject_id == "*" else " AND subject_id = ?")
        params = [w.control, w.subject_kind, *args] + ([] if w.subject_id == "*" else [w.subject_id])
        covered.update((w.control, site, sid, st) for site, sid, st in store.read.execute(sql, params))
    moved = Counter((control, site, st) for control, site, _, st in covered)
    out: Counter[tuple[str, str, str]] = Counter({(c, s, st): n for c, s, st, n in counts})
    for (control, site, st), n in moved.items():
        out[(control, site, st)] -= n
        out[(control, site, "excepted")] += n
    return [(c, s, st, n) for (c, s, st), n in out.items() if n > 0]


def waive(store: SqliteStore, found: Sequence[StoredFinding], at: datetime | None = None) -> list[StoredFinding]:
    """Findings with the status to show: `excepted` where a running waiver covers a failing or unknown one."""
    moment = at or datetime.now(UTC)
    active = exceptions.active_at(store, moment)
    return [replace(f, status=exceptions.overlay(f.status, f.control, f.subject_kind, f.subject_id, moment, active))
            for f in found]
