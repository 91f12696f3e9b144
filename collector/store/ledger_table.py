"""The `ledger` table: entries appended on the writer's connection inside its transaction, and read
back a chunk at a time."""
from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from collector.proof.ledger import GENESIS, LedgerEntry, checkpoint_message, entry_bodies, entry_body, stamp
from collector.proof.sitekey import SiteKey


class Ledger:
    """Appends to the `ledger` table on the caller's connection, inside the caller's transaction."""

    def __init__(self, conn: sqlite3.Connection):
        self.last_seq, self.last_hash = 0, GENESIS
        self._forecast: tuple[int, bytes] | None = None  # the head after the entries last chained ahead
        self.rollback_to(conn)

    def append(self, conn: sqlite3.Connection, type_: str, actor: str, data: dict[str, Any],
               ts: datetime | None = None) -> LedgerEntry:
        seq = self.last_seq + 1
        body = entry_body(seq, ts or datetime.now(UTC), type_, actor, data)
        digest = hashlib.sha256(self.last_hash + body).digest()
        conn.execute("INSERT INTO ledger(seq, hash, body) VALUES (?, ?, ?)", (seq, digest.hex(), body))
        self.last_seq, self.last_hash = seq, digest
        return LedgerEntry(seq, digest.hex(), body)

    def append_many(self, conn: sqlite3.Connection, items: list[tuple[str, str, dict[str, Any]]],
                    ts: datetime | None = None) -> list[LedgerEntry]:
        """Append (type, actor, data) entries in order with one statement."""
        when = stamp(ts or datetime.now(UTC))
        bodies = [entry_body(self.last_seq + i, when, type_, actor, data)
                  for i, (type_, actor, data) in enumerate(items, 1)]
        return self._chain(conn, bodies)

    def append_encoded(self, conn: sqlite3.Connection, type_: str, actor: str, datas: Sequence[bytes],
                       ts: datetime, ahead: ChainedRows | None = None) -> int:
        """Append entries of one type and actor whose data each is already `stored_json` bytes; returns the
        first one's seq (the others follow it in order). Thousands at a time (a new site's first evaluation):
        only the rows are made, no LedgerEntry of each, which cost about as much as hashing its body.
        `ahead`: `chain_ahead` of the same entries, taken as they are if they follow the head at the same time
        (else chained again here: another writer appended meanwhile)."""
        head = (self.last_seq, self.last_hash)
        if ahead is None or ahead.after != head or ahead.stamp != stamp(ts):
            if ahead is not None:
                self._forecast = None  # chain the next ones after the head again
            ahead = chained_rows(head, type_, actor, datas, ts)
        self._insert(conn, ahead.rows, ahead.head)
        return head[0] + 1

    def chain_ahead(self, type_: str, actor: str, datas: Sequence[bytes], ts: datetime) -> ChainedRows:
        """The rows `append_encoded` would make of these entries, made before its transaction (on the engine's
        judging thread, while the writer writes the part before), after the head the entries chained ahead
        last will leave, or else the head now. Only a guess: `append_encoded` checks it."""
        head, forecast = (self.last_seq, self.last_hash), self._forecast
        ahead = chained_rows(forecast if forecast is not None and forecast[0] >= head[0] else head, type_, actor,
                             datas, ts)
        self._forecast = ahead.head
        return ahead

    def _chain(self, conn: sqlite3.Connection, bodies: list[bytes]) -> list[LedgerEntry]:
        """Bodies numbered from the head on, hashed onto the chain and inserted with one statement."""
        rows, head = _hashed_rows((self.last_seq, self.last_hash), bodies)
        self._insert(conn, rows, head)
        return [LedgerEntry(*r) for r in rows]

    def _insert(self, conn: sqlite3.Connection, rows: list[tuple[int, str, bytes]], head: tuple[int, bytes]) -> None:
        """Rows chained onto the head, in one statement; `head`: the one they leave."""
        conn.executemany("INSERT INTO ledger(seq, hash, body) VALUES (?, ?, ?)", rows)
        self.last_seq, self.last_hash = head

    def rollback_to(self, conn: sqlite3.Connection) -> None:
        """(Re-)read the head from the table, e.g. after a rolled-back transaction."""
        row = conn.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
        self.last_seq = row[0] if row else 0
        self.last_hash = bytes.fromhex(row[1]) if row else GENESIS

    def checkpoint(self, conn: sqlite3.Connection, key: SiteKey, ts: datetime | None = None) -> dict | None:
        if self.last_seq == 0:
            return None
        stamp = (ts or datetime.now(UTC)).astimezone(UTC).isoformat()
        sig = key.sign(checkpoint_message(self.last_seq, self.last_hash.hex(), stamp))
        conn.execute(
            "INSERT INTO checkpoints(seq, hash, ts, signature, key_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT (seq)"
            " DO UPDATE SET hash = excluded.hash, ts = excluded.ts, signature = excluded.signature,"
            " key_id = excluded.key_id",
            (self.last_seq, self.last_hash.hex(), stamp, sig.hex(), key.key_id),
        )
        return {"seq": self.last_seq, "hash": self.last_hash.hex(), "ts": stamp, "key_id": key.key_id}


class ChainedRows(NamedTuple):
    """Ledger rows (seq, hash, body) chained onto `after` (seq, hash), leaving the head at `head`; `stamp`:
    their time, as their bodies have it."""

    after: tuple[int, bytes]
    rows: list[tuple[int, str, bytes]]
    head: tuple[int, bytes]
    stamp: str


def chained_rows(after: tuple[int, bytes], type_: str, actor: str, datas: Sequence[bytes],
                 ts: datetime) -> ChainedRows:
    """The rows of entries of one type and actor, each data `stored_json` bytes, chained onto `after`."""
    when = stamp(ts)
    rows, head = _hashed_rows(after, entry_bodies(after[0] + 1, when, type_, actor, datas))
    return ChainedRows(after, rows, head, when)


def _hashed_rows(after: tuple[int, bytes], bodies: Iterable[bytes]) -> tuple[list[tuple[int, str, bytes]],
                                                                            tuple[int, bytes]]:
    """Ledger rows (seq, hash, body) of `bodies` numbered on from `after` (seq, hash), each hashed onto the
    one before, and the head they leave."""
    seq, prev = after
    sha = hashlib.sha256
    rows: list[tuple[int, str, bytes]] = []
    add = rows.append
    for body in bodies:
        seq += 1
        prev = sha(prev + body).digest()
        add((seq, prev.hex(), body))
    return rows, (seq, prev)


def iter_rows(conn: sqlite3.Connection, start: int = 1, end: int | None = None,
              chunk: int = 50_000) -> Iterator[tuple[int, str, bytes]]:
    cur = start
    while True:
        hi = cur + chunk - 1 if end is None else min(end, cur + chunk - 1)
        rows = conn.execute("SELECT seq, hash, body FROM ledger WHERE seq BETWEEN ? AND ? ORDER BY seq",
                            (cur, hi)).fetchall()
        yield from rows
        if end is not None and hi >= end:
            return
        if not rows:
            more = conn.execute("SELECT MIN(seq) FROM ledger WHERE seq > ?", (hi,)).fetchone()[0]
            if more is None:
                return
            cur = more
        else:
            cur = hi + 1
