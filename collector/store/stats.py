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

from collector.proof.canonical import loads
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
    compacted: bool = False  # before the newest compaction's raw window: what the day keeps for good


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
    stats.growth_bytes_per_day = growth_per_day(stats.days, file_bytes - free_bytes(conn), all_obs_bytes,
                                                ledger_growth(conn, now))
    stats.disk_free_bytes = shutil.disk_usage(db.parent).free
    if stats.growth_bytes_per_day > 0:
        stats.days_until_full = stats.disk_free_bytes / stats.growth_bytes_per_day
        try:
            stats.disk_full_at = (now + timedelta(days=stats.days_until_full)).date().isoformat()
        except OverflowError:  # after the year 9999: as good as never
            stats.disk_full_at = None
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
    return mark_compacted(conn, out)


def growth_per_day(days: list[DaySize], file_bytes: int, observation_bytes: int,
                   ledger: tuple[float, int] = (0.0, 0)) -> float:
    """The file's growth per day (`file_bytes`: its pages in use). Today is left out: it is not over yet.

    Before any compaction: the observations of the complete days, scaled by the file's size per observation
    byte (indexes, pages, the other tables). Once days are compacted, a day stays in the store with what
    compaction keeps of it: the growth is what the complete compacted days still hold (scaled the same way,
    without the ledger) plus the ledger's own growth per day, `ledger` = (bytes per day over its life, its
    bytes), which compaction never thins. Raw days are not counted then: compaction thins them too."""
    complete = days[:-1]
    while complete and not complete[0].rows:  # before the store began: not a day without growth
        complete = complete[1:]
    compacted = [d for d in complete if d.compacted]
    if not complete or not observation_bytes:
        return 0.0
    if not compacted:
        return sum(d.bytes for d in complete) / len(complete) * file_bytes / observation_bytes
    per_day, ledger_bytes = ledger
    scale = max(file_bytes - ledger_bytes, observation_bytes) / observation_bytes
    return sum(d.bytes for d in compacted) / len(compacted) * scale + per_day


def _compaction_cutoff(conn: sqlite3.Connection) -> float | None:
    """The newest compaction's raw-window start (its default window), as a UTC timestamp; None: none ran."""
    row = conn.execute("SELECT body FROM ledger WHERE CAST(body AS TEXT) LIKE '%\"type\":\"store.compacted\"%'"
                       " ORDER BY seq DESC LIMIT 1").fetchone()
    if row is None:
        return None
    try:
        entry = loads(bytes(row[0]))
        when = datetime.fromisoformat(entry["ts"])
        return (when - timedelta(days=float(entry["data"]["policy"]["keep_raw_days"]))).timestamp()
    except (ValueError, KeyError, TypeError):
        return None  # an altered entry: ledger verify names it; growth is then measured as before compaction


def mark_compacted(conn: sqlite3.Connection, days: list[DaySize]) -> list[DaySize]:
    """Flag the days that end before the newest compaction's raw window began."""
    cutoff = _compaction_cutoff(conn)
    if cutoff is not None:
        for d in days:
            end = datetime.fromisoformat(d.day).replace(tzinfo=UTC) + timedelta(days=1)
            d.compacted = end.timestamp() <= cutoff
    return days


def ledger_growth(conn: sqlite3.Connection, now: datetime) -> tuple[float, int]:
    """(bytes per day, bytes) of the ledger over its whole life: its rows are never compacted, so this is
    what it adds every day whatever compaction did to the days' observations. Bytes: body, hash and about
    16 bytes of row per entry."""
    count, body_bytes = conn.execute("SELECT count(*), coalesce(sum(length(body)), 0) FROM ledger").fetchone()
    if not count:
        return 0.0, 0
    first = conn.execute("SELECT body FROM ledger ORDER BY seq LIMIT 1").fetchone()[0]
    try:
        began = datetime.fromisoformat(loads(bytes(first))["ts"])
    except (ValueError, KeyError, TypeError):
        return 0.0, 0
    size = int(body_bytes) + 80 * int(count)
    return size / max(1.0, (now - began).total_seconds() / DAY_S), size


def free_bytes(conn: sqlite3.Connection) -> int:
    """The bytes of the file's free pages (compaction frees pages; the file keeps them for new rows)."""
    (pages,) = conn.execute("PRAGMA freelist_count").fetchone()
    (size,) = conn.execute("PRAGMA page_size").fetchone()
    return int(pages) * int(size)


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0
