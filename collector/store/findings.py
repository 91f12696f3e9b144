"""Findings in the SQLite store: the current one per (control, subject), the intervals of each status,
and every status change in the ledger and the event log."""
from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from collector.proof.canonical import loads, stored_json
from collector.store.areas import Fence
from collector.store.base import FindingChange, Interval, StoredFinding
from collector.store.leases import hold_fence
from collector.store.ledger_table import ChainedRows
from collector.store.observation_rows import utc_at
from collector.store.sqlite_parts import SqliteParts, where_clause

FINDING_COLUMNS = ("control, subject_kind, subject_id, site, status, since, evaluated_at, value, reason_zh, reason_en,"
                   " evidence, severity")
_SUBJECTS_PER_STATEMENT = 200
REPLACE_FINDINGS = "INSERT OR REPLACE INTO findings VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
FINDING_CHANGED, ENGINE = "finding.changed", "engine"  # the type and actor of a status change's ledger entry


def _stored_finding(r: Sequence[Any]) -> StoredFinding:
    return StoredFinding(r[0], r[1], r[2], r[3], r[4], utc_at(r[5]), utc_at(r[6]), loads(r[7]), r[8], r[9],
                         loads(r[10]), r[11])


class SqliteFindings(SqliteParts):
    # SQLite's writer lets go of the interpreter around each row's step: switching every 0.5 ms cost the
    # first round of a new site about 7% more CPU and no less wall time
    record_switch_s: float | None = None
    # whether `encode_findings` chains a part's ledger entries ahead: worth it only where the writer waits on a
    # server (on SQLite the first round of a new site took a few percent longer)
    _chains_ahead = False

    def current_findings(self, *, control: str | None = None, subject_kind: str | None = None,
                         subject_id: str | None = None, status: str | None = None,
                         site: str | None = None) -> list[StoredFinding]:
        where, args = where_clause([("control = ?", control), ("subject_kind = ?", subject_kind),
                                    ("subject_id = ?", subject_id), ("status = ?", status), ("site = ?", site)])
        rows = self.read.execute(f"SELECT {FINDING_COLUMNS} FROM findings {where}"
                                 " ORDER BY control, subject_kind, subject_id", args).fetchall()
        return [_stored_finding(r) for r in rows]

    def findings_of(self, subjects: Collection[tuple[str, str]]) -> list[StoredFinding]:
        """The current findings of each (subject kind, subject id), in a few statements however many
        subjects (the engine takes in what other collectors stored for hundreds at a time)."""
        pairs = list(subjects)
        return [_stored_finding(r) for r in self._finding_rows_of(self.read, pairs)] if pairs else []

    @staticmethod
    def _finding_rows_of(read: Any, pairs: Sequence[tuple[str, str]]) -> list[Sequence[Any]]:
        """The `findings` rows of the subjects `pairs`, a statement per couple of hundred subjects."""
        out: list[Sequence[Any]] = []
        for i in range(0, len(pairs), _SUBJECTS_PER_STATEMENT):
            chunk = pairs[i:i + _SUBJECTS_PER_STATEMENT]
            out += read.execute(
                f"SELECT {FINDING_COLUMNS} FROM findings WHERE (subject_kind, subject_id) IN"
                f" (VALUES {','.join(['(?,?)'] * len(chunk))})", [x for pair in chunk for x in pair]).fetchall()
        return out

    def encode_findings(self, changes: Sequence[FindingChange], now: datetime | None = None) -> EncodedFindings:
        """What `record_findings` writes of `changes`, encoded before its transaction, on any thread: the
        engine encodes a part while the part before it is written. With `now` (the time it will record them
        at), on PostgreSQL their ledger rows too, chained onto the head the parts before will leave."""
        rows, moved = finding_rows(changes)
        ahead = self.ledger.chain_ahead(FINDING_CHANGED, ENGINE, [m[2] for m in moved], now) \
            if now is not None and moved and self._chains_ahead else None
        return EncodedFindings(rows, moved, all(ch.previous_status is None for ch in changes), ahead)

    def record_findings(self, changes: Sequence[FindingChange], now: datetime, *, fence: Fence | None = None,
                        encoded: EncodedFindings | None = None) -> int:
        """Upsert findings; for each status change close the open interval, open a new one, and
        append the change to the ledger and the event log. Returns the number of status changes.
        With a `fence`, only while that lease term runs (else LeaseLost, and nothing recorded).
        `encoded`: `encode_findings(changes)`, if the caller has it already."""
        rows, moved, new, ahead = encoded if encoded is not None else self.encode_findings(changes)
        with self.write() as conn:
            if fence is not None:
                hold_fence(conn, fence)
            self._replace_findings(conn, rows, new)
            if not moved:
                return 0
            first = self.ledger.append_encoded(conn, FINDING_CHANGED, ENGINE, [m[2] for m in moved], ts=now,
                                               ahead=ahead)
            conn.executemany("UPDATE finding_intervals SET end = ? WHERE control = ? AND subject_kind = ? AND"
                             " subject_id = ? AND end IS NULL",
                             [(r[5], r[0], r[1], r[2]) for previous, r, _ in moved if previous is not None])
            # every value a placeholder (the open end too), so that PostgreSQL takes the rows by COPY
            conn.executemany("INSERT INTO finding_intervals (control, subject_kind, subject_id, site, status,"
                             " start, end, value, reason_zh, reason_en, evidence, ledger_seq)"
                             " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                             [(*r[:6], None, *r[7:11], seq) for seq, (_, r, _) in enumerate(moved, first)])
            ts = now.timestamp()
            conn.executemany("INSERT INTO events (ts, type, control, subject_kind, subject_id, site, from_status,"
                             " to_status, detail, ledger_seq) VALUES (?,?,?,?,?,?,?,?,?,?)",
                             [(ts, "finding.changed", *r[:4], previous, r[4], r[9], seq)
                              for seq, (previous, r, _) in enumerate(moved, first)])
        return len(moved)

    @staticmethod
    def _replace_findings(conn: Any, rows: Sequence[Row], new: bool) -> None:
        """Write each `findings` row over the stored one of its key, if any (`new`: whether the engine knew
        no finding of any of their keys, which the PostgreSQL form uses)."""
        conn.executemany(REPLACE_FINDINGS, rows)

    def intervals(self, *, control: str | None = None, subject: tuple[str, str] | None = None,
                  start: datetime | None = None, end: datetime | None = None) -> list[Interval]:
        where, args = where_clause([("control = ?", control), ("subject_kind = ?", subject[0] if subject else None),
                                    ("subject_id = ?", subject[1] if subject else None),
                                    ("start < ?", end.timestamp() if end else None),
                                    ("(end IS NULL OR end > ?)", start.timestamp() if start else None)])
        return self._intervals(where, args)

    def posture_at(self, at: datetime) -> list[Interval]:
        t = at.timestamp()
        return self._intervals("WHERE start <= ? AND (end IS NULL OR end > ?)", [t, t])

    def _intervals(self, where: str, args: Sequence[Any]) -> list[Interval]:
        rows = self.read.execute(
            "SELECT control, subject_kind, subject_id, site, status, start, end, value, reason_zh, reason_en,"
            f" evidence FROM finding_intervals {where} ORDER BY control, subject_kind, subject_id, start",
            args).fetchall()
        return [Interval(r[0], r[1], r[2], r[3], r[4], utc_at(r[5]), utc_at(r[6]) if r[6] is not None else None,
                         loads(r[7]), r[8], r[9], loads(r[10])) for r in rows]


Row = tuple[Any, ...]
Change = tuple[str | None, Row, bytes]  # previous status, the findings row, the ledger entry's data


class EncodedFindings(NamedTuple):
    """A part of finding changes as `record_findings` writes them."""

    rows: list[Row]  # the `findings` row of every change
    moved: list[Change]  # of each status change
    new: bool  # whether the engine knew no finding of any of their keys
    ledger: ChainedRows | None  # the ledger rows of `moved`, chained ahead (Ledger.chain_ahead)


def finding_rows(changes: Sequence[FindingChange]) -> tuple[list[Row], list[Change]]:
    """The `findings` row of every change, and (previous status, that row, the data of its `finding.changed`
    ledger entry) of each status change. Each finding's value and evidence are encoded once, for its row
    and its ledger entry, and the times many findings share once per round."""
    rows: list[Row] = []
    moved: list[Change] = []
    epoch: dict[datetime, float] = {}
    iso: dict[datetime, str] = {}
    for ch in changes:
        f = ch.finding
        value, evidence = stored_json(f.value), stored_json(f.evidence)
        if (since := epoch.get(f.since)) is None:
            since = epoch[f.since] = f.since.timestamp()
        if (evaluated := epoch.get(f.evaluated_at)) is None:
            evaluated = epoch[f.evaluated_at] = f.evaluated_at.timestamp()
        row = (f.control, f.subject_kind, f.subject_id, f.site, f.status, since, evaluated, value.decode(),
               f.reason_zh, f.reason_en, evidence.decode(), f.severity)
        rows.append(row)
        if ch.status_changed:
            if (since_iso := iso.get(f.since)) is None:
                since_iso = iso[f.since] = f.since.isoformat()
            # the keys in sorted order, as stored_json writes them; the entry names at most 20 observations
            moved.append((ch.previous_status, row, stored_json({
                "control": f.control, "evidence": orjson.Fragment(evidence) if len(f.evidence) <= 20
                else f.evidence[:20], "from": ch.previous_status, "reason": f.reason_en, "since": since_iso,
                "site": f.site, "subject_id": f.subject_id, "subject_kind": f.subject_kind, "to": f.status,
                "value": orjson.Fragment(value)})))
    return rows, moved
