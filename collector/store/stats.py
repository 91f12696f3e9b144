"""`store stats`: how big the store is, what it is made of, how fast it grows, when its disk is full.

Sizes per table come from SQLite's `dbstat` virtual table where the sqlite3 module was built with
it (tables with their indexes); without it only the whole file's pages are counted. Observation
sizes are the bytes of their values (no page or index overhead); growth per day scales them to
the file, so it stays the file's growth.
"""
from __future__ import annotations

import shutil
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from collector.store.files import evidence_dir_of


class Measurable(Protocol):
    """An open SQLite store: its file and a connection holding one consistent state."""

    path: Path

    def snapshot(self) -> AbstractContextManager[sqlite3.Connection]: ...


DAY_S = 86400
# the values of one observation row, in bytes, as SQLite stores them (numbers counted as 8)
_ROW_BYTES = ("length(id) + length(source) + length(site) + length(subject_kind) + length(subject_id)"
              " + length(kind) + length(key) + length(body) + 32")
_REPEAT_BYTES = "length(r.id) + coalesce(length(r.volatile), 0) + 32"  # a repeat (collector/store/repeats.py)
# full rows by their arrival, and repeats under their head's kind by their observed time
_RECEIVED = (f"SELECT kind, received_at, {_ROW_BYTES} AS size FROM observations UNION ALL"
             f" SELECT o.kind, r.observed_at, {_REPEAT_BYTES}"
             " FROM observation_repeats r JOIN observations o ON o.rowid = r.head")


@dataclass
class TableSize:
    name: str
    rows: int
    bytes: int | None  # None: this sqlite3 has no dbstat


@dataclass
class KindSize:
    kind: str
    rows: int
    bytes: int


@dataclass
class DaySize:
    day: str  # UTC date
    rows: int
    bytes: int


@dataclass
class StoreStats:
    db: str
    now: str
    file_bytes: int  # the database with its write-ahead log
    evidence_bytes: int
    tables: list[TableSize] = field(default_factory=list)
    kinds: list[KindSize] = field(default_factory=list)
    days: list[DaySize] = field(default_factory=list)
    growth_bytes_per_day: float = 0.0
    disk_free_bytes: int | None = 0  # None: not visible from here (the database server's disk)
    disk_full_at: str | None = None  # None: not growing
    days_until_full: float | None = None

    @property
    def total_bytes(self) -> int:
        return self.file_bytes + self.evidence_bytes

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total_bytes": self.total_bytes}


def measure(store: Measurable, now: datetime, days: int = 7) -> StoreStats:
    """`store_stats` of an open store, read in one consistent state."""
    with store.snapshot() as conn:
        return store_stats(conn, store.path, now, days)


def store_stats(conn: sqlite3.Connection, db: Path, now: datetime, days: int = 7) -> StoreStats:
    """Measure the store `db`, read through `conn`, over the `days` days before `now`."""
    file_bytes = sum(p.stat().st_size for p in (db, db.with_name(db.name + "-wal")) if p.exists())
    stats = StoreStats(str(db), now.isoformat(), file_bytes, _folder_bytes(evidence_dir_of(db)))
    stats.tables = table_sizes(conn)
    stats.kinds = kind_sizes(conn)
    stats.days = day_sizes(conn, now, days)
    all_obs_bytes = sum(k.bytes for k in stats.kinds)
    stats.growth_bytes_per_day = growth_per_day(stats.days, file_bytes, all_obs_bytes)
    stats.disk_free_bytes = shutil.disk_usage(db.parent).free
    if stats.growth_bytes_per_day > 0:
        stats.days_until_full = stats.disk_free_bytes / stats.growth_bytes_per_day
        stats.disk_full_at = (now + timedelta(days=stats.days_until_full)).date().isoformat()
    return stats


def kind_sizes(conn: sqlite3.Connection) -> list[KindSize]:
    return [KindSize(*r) for r in conn.execute(
        f"SELECT kind, count(*), coalesce(sum(size), 0) FROM ({_RECEIVED}) AS received GROUP BY kind ORDER BY 3 DESC")]


def table_sizes(conn: sqlite3.Connection) -> list[TableSize]:
    """Rows and bytes (the table's pages and its indexes') of every table of the store."""
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    pages = _bytes_per_table(conn)
    return [TableSize(n, conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0],
                      None if pages is None else pages.get(n, 0)) for n in names]


def _bytes_per_table(conn: sqlite3.Connection) -> dict[str, int] | None:
    try:
        rows = conn.execute("SELECT m.tbl_name, sum(d.pgsize) FROM dbstat d JOIN sqlite_master m ON m.name = d.name "
                            "GROUP BY m.tbl_name").fetchall()
    except sqlite3.OperationalError:  # built without SQLITE_ENABLE_DBSTAT_VTAB
        return None
    return {name: int(size) for name, size in rows}


SQLITE_UTC_DAY = "date(received_at, 'unixepoch')"


def day_sizes(conn: sqlite3.Connection, now: datetime, days: int, utc_day: str = SQLITE_UTC_DAY) -> list[DaySize]:
    """Observations received on each of the `days` UTC days up to `now` (today included), oldest first;
    `utc_day`: the SQL of a row's UTC date as YYYY-MM-DD."""
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp()
    got = {r[0]: (r[1], r[2]) for r in conn.execute(
        f"SELECT {utc_day}, count(*), sum(size) FROM ({_RECEIVED}) AS received "
        "WHERE received_at >= ? AND received_at <= ? GROUP BY 1", (start, now.timestamp()))}
    out = []
    for i in range(days):
        day = (first + timedelta(days=i)).isoformat()
        rows, size = got.get(day, (0, 0))
        out.append(DaySize(day, rows, int(size)))
    return out


def growth_per_day(days: list[DaySize], file_bytes: int, observation_bytes: int) -> float:
    """The file's growth per day: the observations of the complete days, scaled by the file's size per
    observation byte (indexes, pages, the other tables). Today is left out: it is not over yet."""
    complete = days[:-1]
    while complete and not complete[0].rows:  # before the store began: not a day without growth
        complete = complete[1:]
    if not complete or not observation_bytes:
        return 0.0
    per_day = sum(d.bytes for d in complete) / len(complete)
    return per_day * file_bytes / observation_bytes


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0
