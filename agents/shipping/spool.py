"""The local spool: observations wait here until the collector has them.

SQLite in WAL mode, bounded by `max_bytes`; when full the oldest are dropped and counted
(`dropped_total`), so the loss is reported instead of silent. The agent's observations get the next
per-agent sequence number (`seq`) as they enter (`put`), so the collector can see gaps; other sources
spool bodies they have already written (`put_bodies`). An id already waiting is not spooled twice.
"""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (rowid INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
                                  seq INTEGER NOT NULL, body BLOB NOT NULL, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Numbered(Protocol):
    """An observation the spool numbers as it enters (agents.observation.AgentObservation)."""

    id: str
    seq: int | None

    def to_json(self) -> bytes: ...


@dataclass(frozen=True)
class SpoolStats:
    pending: int
    pending_bytes: int
    next_seq: int
    dropped_total: int
    shipped_total: int


class Spool:
    def __init__(self, path: Path, max_bytes: int = 200 * 1024 * 1024):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.max_bytes = path, max_bytes
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA cache_size=-512")  # KiB: the spool is written and read in order, a small cache does
        self._db.executescript(_SCHEMA)

    def _meta(self, key: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    def _bump(self, key: str, by: int) -> None:
        self._db.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                         "ON CONFLICT(key) DO UPDATE SET value = value + excluded.value", (key, by))

    def put(self, observations: Sequence[Numbered]) -> list[int]:
        """Number and store observations (one transaction); returns their sequence numbers."""
        if not observations:
            return []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                first = self._meta("next_seq")
                for i, o in enumerate(observations):
                    o.seq = first + i
                    self._insert(o.id, o.seq, o.to_json())
                self._bump("next_seq", len(observations))
                self._trim()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return [first + i for i in range(len(observations))]

    def put_bodies(self, bodies: list[tuple[str, bytes]]) -> None:
        """Store (id, JSON body) pairs as they are, in one transaction: on disk before this returns."""
        if not bodies:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for oid, body in bodies:
                    self._insert(oid, -1, body)  # the source numbers nothing: -1 is never a real seq
                self._trim()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _insert(self, oid: str, seq: int, body: bytes) -> None:
        self._db.execute("INSERT OR IGNORE INTO spool (id, seq, body, size) VALUES (?,?,?,?)",
                         (oid, seq, body, len(body)))

    def _trim(self) -> None:
        total = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM spool").fetchone()[0]
        if total <= self.max_bytes:
            return
        # drop the oldest until 90 % full, so a full spool does not trim on every insert
        target, freed, last = total - int(self.max_bytes * 0.9), 0, None
        count = 0
        for rowid, size in self._db.execute("SELECT rowid, size FROM spool ORDER BY rowid"):
            freed += size
            last = rowid
            count += 1
            if freed >= target:
                break
        if last is not None:
            self._db.execute("DELETE FROM spool WHERE rowid <= ?", (last,))
            self._bump("dropped_total", count)

    def peek(self, limit: int) -> list[tuple[int, bytes]]:
        """The oldest `limit` entries as (rowid, JSON body), not removed."""
        with self._lock:
            return self._db.execute("SELECT rowid, body FROM spool ORDER BY rowid LIMIT ?", (limit,)).fetchall()

    def ack(self, rowids: list[int]) -> None:
        """The collector has these: remove them."""
        if not rowids:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM spool WHERE rowid = ?", [(r,) for r in rowids])
            self._bump("shipped_total", len(rowids))
            self._db.execute("COMMIT")

    def stats(self) -> SpoolStats:
        with self._lock:
            pending, size = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM spool").fetchone()
            return SpoolStats(pending, size, self._meta("next_seq"), self._meta("dropped_total"),
                              self._meta("shipped_total"))

    def close(self) -> None:
        with self._lock:
            self._db.close()
