"""What the area modules of the SQLite store share: its connections, its ledger and its site key."""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collector.proof.sitekey import SiteKey
    from collector.store.ledger_table import Ledger


def marks(n: int) -> str:
    """`?,?,...` for an IN list of `n` values."""
    return ",".join("?" * n)


def where_clause(conditions: Sequence[tuple[str, Any]]) -> tuple[str, list[Any]]:
    """('col = ?', value) pairs whose value is not None -> 'WHERE ... AND ...' and its arguments."""
    used = [(sql, val) for sql, val in conditions if val is not None]
    if not used:
        return "", []
    return "WHERE " + " AND ".join(sql for sql, _ in used), [val for _, val in used]


def insert_event(conn: sqlite3.Connection, ts: float, type_: str, subject: tuple[str, str], site: str, detail: str,
                 ledger_seq: int, *, control: str | None = None, status: str | None = None) -> None:
    """An event row for the dashboard, naming the ledger entry that records the same thing."""
    conn.execute("INSERT INTO events (ts, type, control, subject_kind, subject_id, site, from_status, to_status,"
                 " detail, ledger_seq) VALUES (?,?,?,?,?,?,?,?,?,?)",
                 (ts, type_, control, subject[0], subject[1], site, status, status, detail, ledger_seq))


class SqliteParts:
    """Declared here, defined by SqliteStore: one writer under a lock, readers on their own connections."""

    ledger: Ledger
    site_key: SiteKey

    @property
    def read(self) -> sqlite3.Connection:
        raise NotImplementedError

    def write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def snapshot(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def write_unledgered(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction that appends nothing to the ledger (so need not wait for its writers)."""
        raise NotImplementedError

    def drop_evidence_bytes(self, digests: Sequence[str]) -> None:
        raise NotImplementedError

    def _store_clock(self, conn: sqlite3.Connection) -> float:
        """Now, in epoch seconds, by the clock every process sharing the store reads."""
        raise NotImplementedError

    def ledger_append(self, type_: str, actor: str, data: dict[str, Any], ts: datetime | None = None) -> int:
        raise NotImplementedError

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        return self.read.execute(sql, args).fetchall()

    def _one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return self.read.execute(sql, args).fetchone()
