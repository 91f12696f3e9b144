"""Read-only queries the pages and reports need, shaped for display and kept cheap.

They read raw rows and JSON payloads (orjson) instead of building full Observation models:
a terminal table for 500 hosts touches thousands of rows and must stay well under 300 ms.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from collector.proof.canonical import loads
from collector.proof.seal import SEAL_TYPE, seal_commitment
from collector.store.areas import Event, HistoryRow, Payloads, stored_payload
from collector.store.base import StoredFinding
from collector.store.pruned import sites_of_batches
from collector.store.sqlite_parts import SqliteParts, marks


def _history_filter(alias: str, kinds: Sequence[str], subject_kind: str, subject_id: str | None
                    ) -> tuple[str, list[Any]]:
    where = f"{alias}.kind IN ({marks(len(kinds))}) AND {alias}.subject_kind = ?"
    args: list[Any] = [*kinds, subject_kind]
    if subject_id is not None:
        where += f" AND {alias}.subject_id = ?"
        args.append(subject_id)
    return where, args


def _filled(points: list[tuple[float, float]], first: float, last: float, bucket_s: int, value: float
            ) -> list[tuple[float, float]]:
    """`points` with `value` in every bucket from `first` to `last` that holds none (a repeated value is
    the same value: the buckets it was seen in hold it, not a gap)."""
    have = {b for b, _ in points}
    more = [(float(b * bucket_s), value) for b in range(int(first // bucket_s), int(last // bucket_s) + 1)
            if b * bucket_s not in have]
    return sorted(points + more)


_EVENT_COLS = "id, ts, type, control, subject_kind, subject_id, from_status, to_status, detail"


def spans_of(status: str) -> str:
    """The statement of status_spans: two arms so each walks the index of failing and unknown spans (intervals
    still open, and those ended in the window), which SQLite takes only for a statement that names its rows."""
    of = "status = ? AND status IN ('fail', 'unknown')" if status in ("fail", "unknown") else "status = ?"
    return (f"SELECT control, start, end FROM finding_intervals WHERE {of} AND end IS NULL AND start <= ?"
            f" UNION ALL SELECT control, start, end FROM finding_intervals WHERE {of} AND end > ? AND start <= ?")


def span_counts_bisected(conn: Any, status: str, samples: Sequence[float]) -> list[tuple[str, int, int, int]]:
    """status_span_counts from the spans themselves: SQLite has no function that finds a value's place
    among others, and a span's places found here cost less than its days counted one by one."""
    counted: Counter[tuple[str, int, int]] = Counter()
    args = (status, samples[-1], status, samples[0], samples[-1])
    for control, start, end in conn.execute(spans_of(status), args):
        counted[(control, bisect_left(samples, start),
                 len(samples) if end is None else bisect_right(samples, end - 1e-6))] += 1
    return [(control, first, stop, n) for (control, first, stop), n in counted.items()]


class SqliteReadModel(SqliteParts):
    # the status changes of a period from their own index, not among the period's first findings (by type),
    # which SQLite, keeping no statistics, would take for as short a walk; PostgreSQL's planner knows better
    _changes_index = " INDEXED BY events_changes"

    # -- observations -------------------------------------------------------------------------------
    def latest_payloads(self, subject_kind: str, kinds: Sequence[str] | None = None, subject_id: str | None = None,
                        subject_ids: Sequence[str] | None = None) -> Payloads:
        # the payload of the row holding the current meaning; the time of the newest, a repeat of it or itself
        sql = ("SELECT l.subject_id, l.kind, l.key, CASE WHEN l.repeat_id IS NULL THEN o.observed_at"
               " ELSE l.observed_at END, o.body FROM latest l JOIN observations o ON o.rowid = l.obs_rowid"
               " WHERE l.subject_kind = ?")
        args: list[Any] = [subject_kind]
        if kinds is not None:
            sql += f" AND l.kind IN ({marks(len(kinds))})"
            args += kinds
        if subject_id is not None:
            sql += " AND l.subject_id = ?"
            args.append(subject_id)
        if subject_ids is not None:
            sql += f" AND l.subject_id IN ({marks(len(subject_ids))})"
            args += subject_ids
        out: Payloads = defaultdict(dict)
        for sid, kind, key, at, body in self.read.execute(sql, args):
            out[sid][f"{kind}:{key}" if key else kind] = (at, stored_payload(body))
        return out

    def last_seen(self, subject_kind: str) -> dict[str, float]:
        return dict(self._rows("SELECT id, last_seen FROM subjects WHERE kind = ?", (subject_kind,)))

    def payload_history(self, subject_kind: str, kinds: Sequence[str], since: datetime, subject_id: str | None = None,
                        limit: int = 2000) -> list[HistoryRow]:
        where, args = _history_filter("o", kinds, subject_kind, subject_id)
        rows = self._rows(f"SELECT o.rowid, o.observed_at, o.subject_id, o.kind, o.id, o.body FROM observations o"
                          f" WHERE {where} AND o.observed_at >= ? ORDER BY o.observed_at DESC LIMIT ?",
                          [*args, since.timestamp(), limit])
        runs = {r[0]: r[1:] for r in self._current_runs(kinds, subject_kind, subject_id, since)}
        out: list[HistoryRow] = []
        for rowid, at, sid, kind, oid, body in rows:
            until, repeats = runs.pop(rowid, (at, 0, None))[:2]
            out.append(HistoryRow(at, sid, kind, oid, stored_payload(body), max(at, until), 1 + repeats))
        # current runs whose first report is older than `since`: present in the period all the same
        for until, repeats, (at, sid, kind, oid, body) in runs.values():
            out.append(HistoryRow(at, sid, kind, oid, stored_payload(body), until, 1 + repeats))
        return sorted(out, key=lambda r: r.until, reverse=True)[:limit]

    def _current_runs(self, kinds: Sequence[str], subject_kind: str, subject_id: str | None,
                      since: datetime) -> list[tuple[int, float, int, tuple[float, str, str, str, bytes]]]:
        """(head rowid, last seen, repeats, the head's observed_at, subject id, kind, id, body) of every current
        meaning repeated since `since` (`latest` counts the repeats of the current run)."""
        where, args = _history_filter("l", kinds, subject_kind, subject_id)
        rows = self._rows("SELECT l.obs_rowid, l.observed_at, l.repeats, o.observed_at, o.subject_id, o.kind, o.id,"
                          f" o.body FROM latest l JOIN observations o ON o.rowid = l.obs_rowid WHERE {where}"
                          " AND l.repeats > 0 AND l.observed_at >= ?", [*args, since.timestamp()])
        return [(r[0], r[1], int(r[2]), (r[3], r[4], r[5], r[6], r[7])) for r in rows]

    def events_dropped(self, subject_kind: str, subject_id: str, kinds: Sequence[str], since: datetime
                       ) -> list[tuple[str, str, int]]:
        rows = self._rows(f"SELECT day, kind, dropped FROM event_days WHERE subject_kind = ? AND subject_id = ?"
                          f" AND kind IN ({marks(len(kinds))}) AND day >= ? ORDER BY day DESC, kind",
                          [subject_kind, subject_id, *kinds, since.astimezone(UTC).date().isoformat()])
        return [(str(d), str(k), int(n)) for d, k, n in rows]

    def payload_means(self, subject_kind: str, kind: str, fields: Sequence[str], since: datetime,
                      bucket_s: int) -> dict[str, dict[str, list[tuple[float, float]]]]:
        """Averaged in SQL so a busy sensor stays cheap."""
        sql, args = self._payload_means_query(fields)
        out: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
        for row in self.read.execute(sql, [*args, bucket_s, kind, since.timestamp(), subject_kind]):
            sid, b = row[0], row[1]
            for f, v in zip(fields, row[2:], strict=True):
                if v is not None:
                    out[sid][f].append((b * bucket_s, float(v)))
        for _, until, _, (at, sid, _, _, body) in self._current_runs([kind], subject_kind, None, since):
            payload = stored_payload(body)
            for f in fields:
                v = payload.get(f)
                if isinstance(v, int | float) and not isinstance(v, bool):
                    out[sid][f] = _filled(out[sid][f], max(at, since.timestamp()), until, bucket_s, float(v))
        return out

    @staticmethod
    def _payload_means_query(fields: Sequence[str]) -> tuple[str, list[Any]]:
        """SELECT subject id, bucket number, the mean of each field, and the arguments that precede the
        bucket size, kind, start and subject kind; the PostgreSQL store has its own (pgreads.py)."""
        # a value that is not a JSON number (forged: a string, true, an object) counts as missing, not as 0
        cols = ", ".join(f"avg(CASE WHEN json_type(CAST(body AS TEXT), '$.payload.{f}') IN ('integer', 'real')"
                         f" THEN json_extract(CAST(body AS TEXT), '$.payload.{f}') END)" for f in fields)
        return (f"SELECT subject_id, CAST(observed_at / ? AS INTEGER) AS b, {cols} FROM observations"
                " WHERE kind = ? AND observed_at >= ? AND subject_kind = ?"
                " GROUP BY subject_id, b ORDER BY subject_id, b"), []

    def camera_thumbnails(self) -> dict[str, str]:
        rows = self.read.execute(
            "SELECT l.subject_id, o.body FROM latest l JOIN observations o ON o.rowid = l.obs_rowid"
            " WHERE l.subject_kind = 'camera'"
            " AND CAST(o.body AS TEXT) LIKE '%\"media_type\":\"image/%' ORDER BY l.observed_at")
        out: dict[str, str] = {}
        for cam, body in rows:
            for e in orjson.loads(body).get("evidence", []):
                if str(e.get("media_type", "")).startswith("image/"):
                    out[cam] = str(e["sha256"])
        return out

    def evidence_meta(self, sha256: str) -> tuple[str, str] | None:
        row = self._one("SELECT name, media_type FROM evidence WHERE sha256 = ?", (sha256,))
        return (row[0], row[1]) if row else None

    def batch_sites(self, first_seq: int, last_seq: int) -> list[tuple[int, str]]:
        rows = self._sites_of_batches(first_seq, last_seq)
        for seq, body in self._rows("SELECT seq, body FROM ledger WHERE seq BETWEEN ? AND ? AND CAST(body AS TEXT)"
                                    f" LIKE '%\"type\":\"{SEAL_TYPE}\"%'", (first_seq, last_seq)):
            try:  # a seal stands for the batches it covers
                first, last, _ = seal_commitment(loads(body)["data"])
            except (ValueError, KeyError, TypeError):
                continue  # an altered entry: the chain check names it
            rows |= {(seq, site) for _, site in self._sites_of_batches(first, last)}
        return sorted(rows)

    def _sites_of_batches(self, first: int, last: int) -> set[tuple[int, str]]:
        rows = set(self._rows(  # repeats are of their full row's site
            "SELECT batch, site FROM observations WHERE batch BETWEEN ? AND ? UNION SELECT r.batch, o.site"
            " FROM observation_repeats r JOIN observations o ON o.rowid = r.head WHERE r.batch BETWEEN ? AND ?",
            (first, last, first, last)))
        for batch, sites in sites_of_batches(self.read, first, last).items():  # compacted away
            rows |= {(batch, site) for site in sites}
        return rows

    # -- events -----------------------------------------------------------------------------------------
    def events(self, since: datetime, *, types: Sequence[str] = ("finding.changed",), limit: int = 200,
               first_only: bool = True, until: datetime | None = None) -> list[Event]:
        arms = self._event_arms(types, first_only)
        if not arms:
            return []
        period = [since.timestamp(), until.timestamp() if until else float("inf")]
        # each kind the newest `limit` of its own index, then the newest of those: the events of a period are
        # not indexed by time alone (a new site's first round would index every first finding by it)
        sql = " UNION ALL ".join(f"SELECT * FROM (SELECT {_EVENT_COLS} FROM {where} AND ts >= ? AND ts < ?"
                                 f" ORDER BY ts DESC, id DESC LIMIT ?) AS arm{i}" for i, (where, _) in enumerate(arms))
        args = [a for _, some in arms for a in (*some, *period, limit)]
        if len(arms) > 1:
            sql += " ORDER BY ts DESC, id DESC LIMIT ?"
            args.append(limit)
        return [Event(*r) for r in self.read.execute(sql, args)]

    def _event_arms(self, types: Sequence[str], first_only: bool) -> list[tuple[str, list[str]]]:
        """(FROM and WHERE, its arguments) of each kind of event asked for: the status changes without first
        findings, in the words their index (events_changes) is made for, and the other types by type."""
        others = [t for t in types if not (first_only and t == "finding.changed")]
        arms: list[tuple[str, list[str]]] = []
        if len(others) < len(list(types)):
            arms.append((f"events{self._changes_index} WHERE type = 'finding.changed' AND from_status IS NOT NULL",
                         []))
        if others:
            arms.append((f"events WHERE type IN ({marks(len(others))})", others))
        return arms

    def has_event(self, type_: str, control: str, site: str, detail_like: str) -> bool:
        return self._one("SELECT 1 FROM events WHERE type = ? AND control = ? AND site = ? AND detail LIKE ?",
                         (type_, control, site, detail_like)) is not None

    def recent_events(self, type_: str, limit: int) -> list[tuple[float, str | None, str | None, str]]:
        return self._rows("SELECT ts, control, site, detail FROM events WHERE type = ? ORDER BY ts DESC LIMIT ?",
                          (type_, limit))

    def change_counts(self, since: datetime, until: datetime) -> dict[tuple[str | None, str], int]:
        rows = self.read.execute(
            f"SELECT from_status, to_status, count(*) FROM events{self._changes_index} WHERE ts >= ? AND ts < ?"
            " AND type = 'finding.changed' AND from_status IS NOT NULL GROUP BY from_status, to_status",
            (since.timestamp(), until.timestamp()))
        return {(f, t): n for f, t, n in rows}

    def alert_acks(self) -> list[Event]:
        return [Event(*r) for r in self.read.execute(
            f"SELECT {_EVENT_COLS} FROM events WHERE type = 'alert.acked' ORDER BY ts")]

    # -- findings ---------------------------------------------------------------------------------------
    def status_spans(self, status: str, ended_after: float, started_by: float
                     ) -> list[tuple[str, float, float | None]]:
        return self._rows(spans_of(status), (status, started_by, status, ended_after, started_by))

    def status_span_counts(self, status: str, samples: Sequence[float]) -> list[tuple[str, int, int, int]]:
        return self._span_counts(self.read, status, samples)

    # the PostgreSQL form counts in the database (collector/store/pgreads.py)
    _span_counts = staticmethod(span_counts_bisected)

    def findings_in(self, *, subject_kinds: Sequence[str] | None = None, controls: Sequence[str] | None = None,
                    statuses: Sequence[str] | None = None, with_value: bool = False) -> list[StoredFinding]:
        where: list[str] = []
        args: list[Any] = []
        for col, values in (("subject_kind", subject_kinds), ("control", controls), ("status", statuses)):
            if values is not None:
                values = list(values)
                where.append(f"{col} IN ({marks(len(values))})")
                args += values
        sql = ("SELECT control, subject_kind, subject_id, site, status, since, evaluated_at, reason_zh, reason_en,"
               " severity" + (", value, evidence" if with_value else "") + " FROM findings")
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [StoredFinding(r[0], r[1], r[2], r[3], r[4], datetime.fromtimestamp(r[5], UTC),
                              datetime.fromtimestamp(r[6], UTC), orjson.loads(r[10]) if with_value else {},
                              r[7], r[8], orjson.loads(r[11]) if with_value else [], r[9])
                for r in self.read.execute(sql, args)]

    def finding_counts(self, at: datetime | None = None) -> list[tuple[str, str, str, int]]:
        if at is None:
            return self._rows("SELECT control, site, status, count(*) FROM findings GROUP BY control, site, status")
        t = at.timestamp()
        return self._rows("SELECT control, site, status, count(*) FROM finding_intervals WHERE start <= ?"
                          " AND (end IS NULL OR end > ?) GROUP BY control, site, status", (t, t))

    def open_subjects(self, control: str, subject_kind: str, subject_id: str | None, at: datetime | None = None
                      ) -> list[tuple[str, str, str]]:
        if at is None:
            sql, args = "SELECT site, subject_id, status FROM findings WHERE control = ? AND subject_kind = ?", []
        else:
            t = at.timestamp()
            sql = ("SELECT site, subject_id, status FROM finding_intervals WHERE control = ? AND subject_kind = ?"
                   " AND start <= ? AND (end IS NULL OR end > ?)")
            args = [t, t]
        sql += " AND status IN ('fail', 'unknown')" + ("" if subject_id is None else " AND subject_id = ?")
        return self._rows(sql, [control, subject_kind, *args] + ([] if subject_id is None else [subject_id]))

    def finding_evidence(self, control: str, subject_ids: Sequence[str]) -> dict[tuple[str, str], list[str]]:
        out: dict[tuple[str, str], list[str]] = {}
        ids = list(dict.fromkeys(subject_ids))
        for i in range(0, len(ids), 500):  # well below either database's limit of parameters
            some = ids[i:i + 500]
            for kind, sid, evidence in self.read.execute(
                    f"SELECT subject_kind, subject_id, evidence FROM findings WHERE control = ?"
                    f" AND subject_id IN ({marks(len(some))})", [control, *some]):
                out[(kind, sid)] = orjson.loads(evidence)
        return out
