"""Leases: one process at a time holds a named job (the engine's rounds when several collectors share
a PostgreSQL store, docs/postgresql.md), renews it before it expires, and loses it to another
process once it stops renewing.

A lease is a row taken and renewed inside a write transaction, under the lock every writer of the
store takes. That makes a fence possible: a write that checks its holder's term in the same
transaction (`hold_fence`) either lands before anyone else took the lease, and the next holder sees
it, or is refused whole. Expiry is judged by the store's own clock (`_store_clock`), so the
processes' clocks need not agree.
"""
from __future__ import annotations

import sqlite3
import time
from contextlib import AbstractContextManager

from collector.store.areas import Fence, LeaseLost
from collector.store.sqlite_parts import SqliteParts

# the lease is taken anew (a new term) unless its holder renews it before it expires
_ANEW = "NOT (leases.holder = excluded.holder AND leases.expires_at > ?)"


class SqliteLeases(SqliteParts):
    def _store_clock(self, conn: sqlite3.Connection) -> float:
        """Now, in epoch seconds, by the clock every process sharing the store reads: on one SQLite file
        that is the machine's."""
        return time.time()

    def _lease_write(self) -> AbstractContextManager[sqlite3.Connection]:
        """The transaction a lease is taken or released in: one that excludes every other writer of the
        store (so that fenced writes and takeovers come one after the other)."""
        return self.write()

    def take_lease(self, name: str, holder: str, ttl_s: float) -> int | None:
        with self._lease_write() as conn:
            now = self._store_clock(conn)
            row = conn.execute(
                "INSERT INTO leases (name, holder, term, taken_at, expires_at) VALUES (?, ?, 1, ?, ?)"
                f" ON CONFLICT (name) DO UPDATE SET term = CASE WHEN {_ANEW} THEN leases.term + 1"
                f" ELSE leases.term END, taken_at = CASE WHEN {_ANEW} THEN excluded.taken_at ELSE leases.taken_at END,"
                " holder = excluded.holder, expires_at = excluded.expires_at"
                " WHERE leases.holder = excluded.holder OR leases.expires_at <= ? RETURNING term",
                (name, holder, now, now + ttl_s, now, now, now)).fetchone()
        return int(row[0]) if row else None

    def release_lease(self, name: str, holder: str) -> None:
        with self._lease_write() as conn:
            now = self._store_clock(conn)
            conn.execute("UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND expires_at > ?",
                         (now, name, holder, now))

    def lease_of(self, name: str) -> tuple[str, int, float] | None:
        row = self._one("SELECT holder, term, expires_at FROM leases WHERE name = ?", (name,))
        if row is None:
            return None
        return row[0], int(row[1]), float(row[2]) - self._store_clock(self.read)


def hold_fence(conn: sqlite3.Connection, fence: Fence) -> None:
    """Inside a write transaction: refuse it (LeaseLost) unless the fence's term still runs, its holder's."""
    if conn.execute("SELECT 1 FROM leases WHERE name = ? AND holder = ? AND term = ?", fence).fetchone() is None:
        raise LeaseLost(f"lease {fence.name}: term {fence.term} of {fence.holder} is over")
