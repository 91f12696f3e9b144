"""`store copy`: every row and evidence file of one store into another, across backends (SQLite and
PostgreSQL either way), so that the copy's ledger is the same chain with the same head.

Resumable: rows go over in chunks, each committed on its own. Tables that only grow (observations,
the ledger, events...) continue after the highest key the copy holds; the others are upserted again
whole. A copy run again over one made before also drops what the source no longer holds (compaction's
observations and evidence, expired sessions...), so that a copy kept up to date by running it again
verifies as its source does. The destination records which store it copies (`meta` key `copy.source`: the hash of the
source's first ledger entry), so that a second run continues it and a store that is anything else
is refused.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from collector.inputs import StoreOpenError
from collector.store.integrity import EvidenceAltered
from collector.store.sqlite import SqliteStore

# tables whose rows are never changed once written: key column
APPEND_ONLY = {"observations": "rowid", "observation_repeats": "num", "ledger": "seq", "events": "id",
               "notifications": "id", "attestations": "id", "exceptions": "id", "access_pushes": "id",
               "checkpoints": "seq"}
# bookkeeping of one backend or of the processes running on it, not store content; the terminal search's
# texts are remade from the copied observations at the first search
NOT_COPIED = {"evidence_blobs", "clausewatch_schema", "leases", "host_search"}
# rows a copy never drops: every public key ever used stays, as in the source (a copy adds its own)
NEVER_DROPPED = {"public_keys"}
# rows that make a store non-empty
CONTENT_TABLES = ("ledger", "observations", "users", "findings", "agents")
FIRST = ("users",)  # referenced by others' foreign keys
COPY_SOURCE_KEY = "copy.source"
CHUNK_ROWS = 5000
DROP_CHUNK_KEYS = 1000  # keys looked for in the source at once: a statement's parameters stay within both limits

Layout = dict[str, tuple[list[str], list[str]]]  # table -> (primary key columns, columns)


class CopySource(Protocol):
    """What a copy reads: a store of either backend, or a backup's database (collector/store/pgbackup.py)."""

    @property
    def read(self) -> sqlite3.Connection: ...

    def seal_batches(self, *, due: bool = False) -> int | None: ...

    def snapshot(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def checked_evidence_bytes(self, sha256: str) -> bytes | None: ...


class CopyRefused(StoreOpenError):
    """The destination holds a store other than a copy of this source in progress."""


@dataclass
class CopyReport:
    source: str
    destination: str
    resumed: bool
    rows: dict[str, int] = field(default_factory=dict)  # rows written per table in this run
    dropped: dict[str, int] = field(default_factory=dict)  # rows a resumed copy held that the source no longer does
    evidence_files: int = 0
    evidence_unreadable: list[str] = field(default_factory=list)
    ledger_head_seq: int = 0
    ledger_head_hash: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "destination": self.destination, "resumed": self.resumed,
                "rows": self.rows, "dropped": self.dropped, "evidence_files": self.evidence_files,
                "evidence_unreadable": self.evidence_unreadable, "ledger_head_seq": self.ledger_head_seq,
                "ledger_head_hash": self.ledger_head_hash}


def sqlite_layout(conn: sqlite3.Connection) -> Layout:
    out: Layout = {}
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"):
        info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
        keys = [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]
        out[table] = (keys, [r[1] for r in info])
    return out


def layout_of(store: CopySource) -> Layout:
    pg_layout: Callable[[], Layout] | None = getattr(store, "table_layout", None)
    return pg_layout() if pg_layout else sqlite_layout(store.read)


def source_identity(conn: sqlite3.Connection) -> str:
    """What names a store whatever its backend: its first ledger entry's hash (or, before any entry,
    its first site key)."""
    row = conn.execute("SELECT hash FROM ledger WHERE seq = 1").fetchone()
    if row:
        return f"ledger:{row[0]}"
    key = conn.execute("SELECT key_id FROM public_keys ORDER BY created_at, key_id LIMIT 1").fetchone()
    return f"key:{key[0] if key else '-'}"


def claim(dst: SqliteStore, identity: str, src_name: str, dst_name: str, command: str = "store copy") -> bool:
    """Mark `dst` as the copy of `identity`; True when it already was (a resumed copy). Refuses a
    destination that holds anything else."""
    marked = dst.get_meta(COPY_SOURCE_KEY)
    if marked == identity:
        return True
    busy = [t for t in CONTENT_TABLES if dst.read.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()]  # noqa: S608
    if marked is not None or busy:
        what = "a copy of another store" if marked is not None else f"not empty ({', '.join(busy)})"
        raise CopyRefused(f"{dst_name}: {what}; `{command}` writes only into a new store or continues its own "
                          f"copy of {src_name}")
    dst.set_meta(COPY_SOURCE_KEY, identity)
    return False


def refuse_missing_tables(conn: sqlite3.Connection, theirs: Layout, ours: Layout, dst_name: str) -> None:
    """Refuse a copy that would leave rows behind: a source table the destination lacks (a store of a
    newer clausewatch, or a table one backend's migrations have and the other's not yet)."""
    lacking = [t for t in sorted(theirs) if t not in ours and t not in NOT_COPIED
               and conn.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()]  # noqa: S608
    if lacking:
        raise CopyRefused(f"{dst_name}: has no table {', '.join(lacking)} for the rows the source holds there;"
                          " copy with the clausewatch that wrote the source, or a newer one")


def copy_store(src: CopySource, dst: SqliteStore, *, src_name: str, dst_name: str,
               chunk_rows: int = CHUNK_ROWS, on_chunk: Callable[[str, int], None] | None = None,
               command: str = "store copy") -> CopyReport:
    """Copy `src` (as it is when the copy starts) into `dst`; `on_chunk(table, rows)` after each commit;
    `command` names what the user ran, in a refusal."""
    theirs, ours = layout_of(src), layout_of(dst)
    tables = sorted((t for t in theirs if t in ours and t not in NOT_COPIED), key=lambda t: (t not in FIRST, t))
    src.seal_batches()  # the batches acknowledged so far are in the copied ledger
    with src.snapshot() as conn:
        refuse_missing_tables(conn, theirs, ours, dst_name)
        report = CopyReport(src_name, dst_name, claim(dst, source_identity(conn), src_name, dst_name, command))
        for table in tables:
            keys, columns = theirs[table]
            cols = [c for c in columns if c in set(ours[table][1])]
            if report.resumed and table not in NEVER_DROPPED:
                report.dropped[table] = _drop_gone(conn, dst, table, keys, chunk_rows)
            report.rows[table] = _copy_table(conn, dst, table, keys, cols, chunk_rows, on_chunk)
        _copy_evidence(conn, src, dst, report)
        head = conn.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
    align = getattr(dst, "align_identities", None)
    if align:
        align()
    report.ledger_head_seq, report.ledger_head_hash = (head[0], head[1]) if head else (0, None)
    return report


def _copy_table(conn: sqlite3.Connection, dst: SqliteStore, table: str, keys: list[str], cols: list[str],
                chunk_rows: int, on_chunk: Callable[[str, int], None] | None) -> int:
    names = ", ".join(f'"{c}"' for c in cols)
    marks = ", ".join("?" for _ in cols)
    number = APPEND_ONLY.get(table)
    if number:
        write = f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING"
        after = dst.read.execute(f'SELECT coalesce(max("{number}"), 0) FROM {table}').fetchone()[0]  # noqa: S608
    else:
        sets = ", ".join(f'"{c}" = excluded."{c}"' for c in cols if c not in keys)
        conflict = "ON CONFLICT (" + ", ".join(f'"{k}"' for k in keys) + ")"
        write = f"INSERT INTO {table} ({names}) VALUES ({marks}) {conflict} " + (
            f"DO UPDATE SET {sets}" if sets else "DO NOTHING")
        after = None
    done, pages = 0, _Pages(table, [number] if number else keys, cols, after)
    while True:
        batch = conn.execute(*pages.next(chunk_rows)).fetchall()
        rows = [tuple(r) for r in batch if table != "meta" or not str(r[0]).startswith("copy.")]
        if rows:  # the destination's own `copy.` mark (meta) is never overwritten
            with dst.write() as out:
                out.executemany(write, rows)
            done += len(rows)
            if on_chunk:
                on_chunk(table, len(rows))
        if len(batch) < chunk_rows:
            return done
        pages.passed(batch[-1])


class _Pages:
    """A table's rows a chunk at a time, in the order of its key: after the last key read (a table that only
    grows starts after the highest number the copy holds), so each chunk is found by the key's index rather
    than by counting past the rows before it. Text keys are in the source's own order (each backend orders
    text by its own rules; one source reads in one). A table without a key is read by offset."""

    def __init__(self, table: str, keys: list[str], cols: list[str], after: Any = None):
        self._table, self._cols = table, cols
        self._names = ", ".join(f'"{c}"' for c in cols)
        self._keys = keys if keys and all(k in cols for k in keys) else []
        self._order = ", ".join(f'"{k}"' for k in self._keys) or self._names
        self._last: tuple[Any, ...] | None = (after,) if after is not None else None
        self._offset = 0

    def next(self, limit: int) -> tuple[str, tuple[Any, ...]]:
        """The statement and parameters of the next chunk of at most `limit` rows."""
        head = f"SELECT {self._names} FROM {self._table}"
        if not self._keys:
            self._offset += limit
            return f"{head} ORDER BY {self._order} LIMIT ? OFFSET ?", (limit, self._offset - limit)
        if self._last is None:
            return f"{head} ORDER BY {self._order} LIMIT ?", (limit,)
        marks = ", ".join("?" for _ in self._keys)
        return f"{head} WHERE ({self._order}) > ({marks}) ORDER BY {self._order} LIMIT ?", (*self._last, limit)

    def passed(self, row: Any) -> None:
        """The last row of the chunk just read: the next chunk starts after its key."""
        if self._keys:
            self._last = tuple(row[self._cols.index(k)] for k in self._keys)


def _drop_gone(conn: sqlite3.Connection, dst: SqliteStore, table: str, keys: list[str], chunk_rows: int) -> int:
    """Delete the rows of `table` in `dst` whose key the source no longer holds; the number deleted. The
    destination's keys are walked a chunk at a time, each chunk looked for in the source: by the range of
    numbers it spans for a table that only grows (both backends order numbers alike), by the keys
    themselves otherwise."""
    if not keys:
        return 0  # no key names a row: such a table is upserted whole, never dropped from
    number = APPEND_ONLY.get(table)
    walked = [number, *keys] if number else keys  # rows of the destination as (number?, key...)
    pages, dropped = _Pages(table, walked, walked), 0
    chunk_rows = min(chunk_rows, DROP_CHUNK_KEYS)
    names = ", ".join(f'"{k}"' for k in keys)
    while True:
        rows = dst.read.execute(*pages.next(chunk_rows)).fetchall()
        if not rows:
            return dropped
        mine = [tuple(_plain(v) for v in (r[1:] if number else r)) for r in rows]
        if number:
            found = conn.execute(f'SELECT {names} FROM {table} WHERE "{number}" BETWEEN ? AND ?',  # noqa: S608
                                 (rows[0][0], rows[-1][0])).fetchall()
        else:
            tuples = ", ".join("(" + ", ".join("?" for _ in keys) + ")" for _ in mine)
            found = conn.execute(f"SELECT {names} FROM {table} WHERE ({names}) IN (VALUES {tuples})",  # noqa: S608
                                 [v for k in mine for v in k]).fetchall()
        held = {tuple(_plain(v) for v in r) for r in found}
        gone = [k for k in mine if k not in held and not (table == "meta" and str(k[0]).startswith("copy."))]
        if gone:
            match = " AND ".join(f'"{k}" = ?' for k in keys)
            with dst.write() as out:
                out.executemany(f"DELETE FROM {table} WHERE {match}", gone)  # noqa: S608
            if table == "evidence":
                dst.drop_evidence_bytes([str(k[0]) for k in gone])
            dropped += len(gone)
        if len(rows) < chunk_rows:
            return dropped
        pages.passed(rows[-1])


def _plain(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


def _copy_evidence(conn: sqlite3.Connection, src: CopySource, dst: SqliteStore, report: CopyReport) -> None:
    for (sha256,) in conn.execute("SELECT sha256 FROM evidence ORDER BY sha256").fetchall():
        try:
            if dst.checked_evidence_bytes(sha256) is not None:
                continue
        except EvidenceAltered:
            pass  # written again below from the source
        try:
            data = src.checked_evidence_bytes(sha256)
        except EvidenceAltered:
            data = None
        if data is None:
            report.evidence_unreadable.append(sha256)  # `ledger verify` names it on both stores
            continue
        dst.keep_evidence_bytes(sha256, data)
        report.evidence_files += 1
