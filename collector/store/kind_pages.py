"""A page of one kind's observations, newest first, without walking the observations by time.

Neither store indexes observations by kind alone (SQLite 15 and PostgreSQL 8 dropped obs_kind_time, for
its cost at ingest), so a listing filtered by kind but not by one subject walked every observation by
time until it had a page: seconds on a store of a few years when the kind is rare or absent lately, and
more each year. Every observation's subject is in `subjects`, so the page is found per subject instead,
each subject's newest rows of the kind read backwards by obs_subject_kind_time: what it costs grows
with the number of subjects (an index probe each) and the page, not with the years kept.

The order is the observed time, newest first, then the number (rowid), highest first: the order a
backward walk of obs_time gave rows of one time.
"""
from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from collector.store.sqlite_parts import marks, where_clause

# rows fetched by number per statement (SQLite takes at most 32,766 values in one)
_BY_NUMBER = 500
# the newest observations looked through first, per row of the page asked, and at most: a kind of one in
# fifty of them or more fills its page there, in a few milliseconds
RECENT_PER_ROW, RECENT_MAX = 50, 10_000
FULL_ROW_COLUMNS = "body, received_at, NULL, NULL, NULL, NULL, NULL"


def period_bounds(since: datetime | None, until: datetime | None) -> tuple[float, float]:
    """[since, until) in epoch seconds, open ends as infinities (no stored time is one)."""
    return (since.timestamp() if since else float("-inf")), (until.timestamp() if until else float("inf"))


def subject_filter(subject_kind: str | None, subject_id: str | None) -> tuple[str, list[Any]]:
    """The WHERE clause on `subjects s` for the subject kind and id asked, if any."""
    return where_clause([("s.kind = ?", subject_kind), ("s.id = ?", subject_id)])


def _subjects_newest(conn: sqlite3.Connection, kind: str, subject_kind: str | None, subject_id: str | None,
                     start: float, end: float) -> list[tuple[float, str, str]]:
    """(time of its newest observation of `kind` in [start, end), subject kind, id) of each subject that
    has one, newest first: one probe of obs_subject_kind_time per subject."""
    where, args = subject_filter(subject_kind, subject_id)
    rows = conn.execute(
        "SELECT (SELECT o.observed_at FROM observations o WHERE o.subject_kind = s.kind AND o.subject_id = s.id"
        " AND o.kind = ? AND o.observed_at >= ? AND o.observed_at < ? ORDER BY o.observed_at DESC LIMIT 1),"
        f" s.kind, s.id FROM subjects s {where}", [kind, start, end, *args]).fetchall()
    return sorted((r for r in rows if r[0] is not None), reverse=True)


def recent_numbers(conn: sqlite3.Connection, kind: str, subject_kind: str | None, subject_id: str | None,
                   start: float, end: float, limit: int) -> list[int] | None:
    """The page's numbers when the newest observations of [start, end) hold it (a common kind's first
    pages: the walk by time as before, but only so far); None when they do not tell. The rows are read
    as they come, up to the page's last."""
    recent = min(RECENT_PER_ROW * limit, RECENT_MAX)
    asked, args = where_clause([("kind = ?", kind), ("subject_kind = ?", subject_kind), ("subject_id = ?", subject_id)])
    rows = conn.execute(f"SELECT rowid, {asked.removeprefix('WHERE ')} FROM observations WHERE observed_at >= ?"
                        " AND observed_at < ? ORDER BY observed_at DESC, rowid DESC LIMIT ?",
                        [*args, start, end, recent])
    page: list[int] = []
    seen = 0
    for number, hit in rows:
        seen += 1
        if hit:
            page.append(number)
            if len(page) == limit:
                return page
    return page if seen < recent else None  # these were all the observations of the period


def newest_numbers(conn: sqlite3.Connection, kind: str, subject_kind: str | None, subject_id: str | None,
                   start: float, end: float, limit: int) -> list[tuple[float, int]]:
    """(observed time, number) of the newest `limit` full rows of `kind` in [start, end) of the subjects
    asked, in page order. Subjects are read newest first, each for its rows at or after the page's
    oldest so far once it holds `limit`; a subject whose newest is older than that can add nothing, nor
    can any after it."""
    page: list[tuple[float, int]] = []  # a heap: the row that leaves the page first on top
    for newest, sk, sid in _subjects_newest(conn, kind, subject_kind, subject_id, start, end):
        full = len(page) >= limit
        if full and newest < page[0][0]:
            break
        rows = conn.execute(
            "SELECT observed_at, rowid FROM observations WHERE subject_kind = ? AND subject_id = ? AND kind = ?"
            " AND observed_at >= ? AND observed_at < ? ORDER BY observed_at DESC, rowid DESC LIMIT ?",
            (sk, sid, kind, page[0][0] if full else start, end, limit))
        for row in rows:
            if len(page) < limit:
                heapq.heappush(page, row)
            elif row > page[0]:
                heapq.heapreplace(page, row)
            else:
                break  # the subject's older rows are older still
    return sorted(page, reverse=True)


def full_rows(conn: sqlite3.Connection, numbers: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    """The full rows (FULL_ROW_COLUMNS) of `numbers`, in their order."""
    found: dict[int, tuple[Any, ...]] = {}
    for i in range(0, len(numbers), _BY_NUMBER):
        part = numbers[i:i + _BY_NUMBER]
        sql = f"SELECT rowid, {FULL_ROW_COLUMNS} FROM observations WHERE rowid IN ({marks(len(part))})"
        for row in conn.execute(sql, part):
            found[row[0]] = row[1:]
    return (found[n] for n in numbers if n in found)


def kind_page(conn: sqlite3.Connection, kind: str, subject_kind: str | None, subject_id: str | None,
              since: datetime | None, until: datetime | None, limit: int) -> list[tuple[Any, ...]]:
    """The full rows (FULL_ROW_COLUMNS) of the newest `limit` observations of `kind` observed in
    [since, until), of the subject kind and id if given, in page order."""
    start, end = period_bounds(since, until)
    numbers = recent_numbers(conn, kind, subject_kind, subject_id, start, end, limit)
    if numbers is None:
        numbers = [n for _, n in newest_numbers(conn, kind, subject_kind, subject_id, start, end, limit)]
    return list(full_rows(conn, numbers))
