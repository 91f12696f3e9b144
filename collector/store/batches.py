"""Ingested batches and the seals that commit them to the ledger (collector/proof/seal.py).

Ingest writes one `batches` row per batch in its own transaction (so an acknowledged batch is durable)
and appends nothing to the ledger; a seal entry commits to every batch stored since the last seal once
the oldest of them is `seal_after_s` old, checked at ingest and by the service's rounds, and at once
whenever the ledger is read as a whole (verify, bundles, compaction, backup, copy) and when a store
is opened (what a killed process left unsealed)."""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from collector.proof.canonical import loads
from collector.proof.ledger import LedgerEntry
from collector.proof.merkle import merkle_root
from collector.proof.seal import SEAL_TYPE, batch_line, is_sealed_batch, seal_entry_data
from collector.store.ledger_table import Ledger
from collector.store.sqlite_parts import SqliteParts

# meta key: the batch base. Batches are numbered from base + 1, where base is the ledger head when the store
# took its first batch of this form: every batch numbered before seals is the seq of its own ledger entry,
# so at or below it, and the two kinds of number never meet. Numbers stay small (an SQLite integer column
# takes 1 to 8 bytes by magnitude, and every observation row names its batch); verify checks the first
# seal starts right after the base, so a changed base does not pass unseen.
BASE_KEY = "batches.base"
SEAL_AFTER_S = 60.0  # default: a batch waits at most about this long for its seal
SEAL_ACTOR = "store"
_EPOCH = datetime.fromtimestamp(0, UTC)
_US = timedelta(microseconds=1)


def micros(t: datetime) -> int:
    """Epoch microseconds, exactly (a float would round)."""
    return (t.astimezone(UTC) - _EPOCH) // _US


def batch_base(conn: sqlite3.Connection) -> int | None:
    """The store's batch base (see BASE_KEY); None before its first batch row."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (BASE_KEY,)).fetchone()
    return int(row[0]) if row else None


def store_batch(conn: sqlite3.Connection, count: int, root_hex: str, received: datetime, after_seq: int) -> int:
    """Write a new batch's row; returns its number (the next above the batch base)."""
    top = conn.execute("SELECT max(batch) FROM batches").fetchone()[0]
    if top is None:
        top = batch_base(conn)
        if top is None:  # the store's first batch of this form: the ledger head is the base
            top = after_seq
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (BASE_KEY, str(top)))
    batch = int(top) + 1
    conn.execute("INSERT INTO batches (batch, n, root, received_us, after_seq) VALUES (?,?,?,?,?)",
                 (batch, count, bytes.fromhex(root_hex), micros(received), after_seq))
    return batch


def batch_leaves(rows: Sequence[Sequence]) -> list[bytes]:
    """The seal tree's leaves of (batch, n, root, received_us, after_seq) rows."""
    return [batch_line(int(b), int(n), bytes(root).hex(), int(us), int(after)) for b, n, root, us, after in rows]


def _last_ts(conn: sqlite3.Connection, seq: int) -> datetime | None:
    row = conn.execute("SELECT body FROM ledger WHERE seq = ?", (seq,)).fetchone()
    try:
        return datetime.fromisoformat(str(loads(row[0])["ts"])) if row else None
    except (ValueError, TypeError, KeyError):
        return None


def seal(conn: sqlite3.Connection, ledger: Ledger, *, due_us: int | None = None) -> LedgerEntry | None:
    """Seal every unsealed batch (with `due_us`: only when the oldest arrived at or before it); the seal's
    time is its newest batch's arrival, or the previous entry's when that is later (entries stay in order)."""
    oldest = conn.execute("SELECT received_us FROM batches WHERE seal IS NULL ORDER BY batch LIMIT 1").fetchone()
    if oldest is None or due_us is not None and int(oldest[0]) > due_us:
        return None
    rows = conn.execute("SELECT batch, n, root, received_us, after_seq FROM batches WHERE seal IS NULL"
                        " ORDER BY batch").fetchall()
    ts = _EPOCH + int(rows[-1][3]) * _US
    before = _last_ts(conn, ledger.last_seq)
    if before is not None and before > ts:
        ts = before
    first, last = int(rows[0][0]), int(rows[-1][0])
    entry = ledger.append(conn, SEAL_TYPE, SEAL_ACTOR,
                          seal_entry_data(first, last, merkle_root(batch_leaves(rows)).hex()), ts=ts)
    conn.execute("UPDATE batches SET seal = ? WHERE seal IS NULL AND batch BETWEEN ? AND ?", (entry.seq, first, last))
    return entry


def sealed_received_at(conn: sqlite3.Connection, batches: Sequence[int]) -> dict[int, float]:
    """batch -> its arrival (epoch s) for the batch-table batches among `batches`."""
    base = batch_base(conn)
    wanted = sorted({b for b in batches if is_sealed_batch(b, base)})
    out: dict[int, float] = {}
    for i in range(0, len(wanted), 900):
        chunk = wanted[i:i + 900]
        out.update((int(b), int(us) / 1e6) for b, us in conn.execute(
            f"SELECT batch, received_us FROM batches WHERE batch IN ({','.join('?' * len(chunk))})", chunk))  # noqa: S608
    return out


def seal_file(conn: sqlite3.Connection) -> None:
    """Seal what waits for a seal on a raw connection to an SQLite file (autocommit), as a store would; a
    file of a schema without batches is left alone."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'batches'").fetchone() is None:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        seal(conn, Ledger(conn))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class SqliteBatches(SqliteParts):
    seal_after_s: float = SEAL_AFTER_S

    def seal_due_us(self, now: datetime) -> int:
        """The arrival time (epoch microseconds) at or before which a batch is due for its seal at `now`."""
        return micros(now) - int(self.seal_after_s * 1e6)

    def seal_batches(self, *, due: bool = False) -> int | None:
        """Seal the batches not yet sealed: all of them, or (`due`) only when the oldest arrived
        `seal_after_s` before now by the store's clock. Returns the seal's ledger seq, or None."""
        when = None
        if due:  # looked at first without the writers' lock: usually nothing is due
            when = self.seal_due_us(datetime.fromtimestamp(self._store_clock(self.read), UTC))
            oldest = self._one("SELECT received_us FROM batches WHERE seal IS NULL ORDER BY batch LIMIT 1")
            if oldest is None or int(oldest[0]) > when:
                return None
        with self.write() as conn:
            entry = seal(conn, self.ledger, due_us=when)
        return entry.seq if entry else None

    def batch_base(self) -> int | None:
        """The number below the store's first batch row (BASE_KEY); None before it has one."""
        return batch_base(self.read)

    def unsealed_batches(self) -> int:
        """How many batches wait for a seal."""
        return int(self._one("SELECT count(*) FROM batches WHERE seal IS NULL")[0])
