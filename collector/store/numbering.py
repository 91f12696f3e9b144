"""Observation numbers and the reads that span full rows and repeats (collector/store/repeats.py).

Every observation received gets a number, in arrival order: a full row's rowid, a repeat's `num`.
The engine follows the store by these numbers (`max_observation_rowid`, `latest_since`)."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime

from collector.proof.canonical import loads
from collector.proof.seal import is_sealed_batch
from collector.store.batches import batch_base, sealed_received_at
from collector.store.repeats import id_key, id_text, rebuild

LAST_NUM = "observations.last_num"  # meta: the last number given, which may be a repeat's
# a `latest` row's head body and arrival, and its newest repeat (all NULL when the head is the newest)
LATEST_COLUMNS = "o.body, o.received_at, r.id, r.observed_at, r.seq, r.volatile, r.batch"
LATEST_JOINS = ("JOIN observations o ON o.rowid = l.obs_rowid"
                " LEFT JOIN observation_repeats r ON r.id = l.repeat_id")
REPEAT_COLUMNS = LATEST_COLUMNS


def last_number(conn: sqlite3.Connection) -> int:
    return conn.execute(
        "SELECT max(coalesce((SELECT max(rowid) FROM observations), 0),"
        " coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?), 0))", (LAST_NUM,)).fetchone()[0]


def next_number(conn: sqlite3.Connection) -> int:
    return last_number(conn) + 1


def stored_ids(conn: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
    """Those of `ids` already stored, as a full row or as a repeat."""
    found: set[str] = set()
    for i in range(0, len(ids), 900):
        chunk = list(ids[i:i + 900])
        marks = ",".join("?" * len(chunk))
        found.update(r[0] for r in conn.execute(f"SELECT id FROM observations WHERE id IN ({marks})", chunk))
        keys = {k: x for x in chunk if (k := id_key(x)) is not None}
        if keys:
            found.update(keys[bytes(r[0])] for r in conn.execute(
                f"SELECT id FROM observation_repeats WHERE id IN ({','.join('?' * len(keys))})", list(keys)))
    return found


def batch_received_at(conn: sqlite3.Connection, batch: int, fallback: float) -> float:
    """When a batch arrived: its `batches` row's time, or that of its own ledger entry (a batch stored before
    seals); `fallback` when that cannot be read."""
    if is_sealed_batch(batch, batch_base(conn)):
        return sealed_received_at(conn, [batch]).get(batch, fallback)
    row = conn.execute("SELECT body FROM ledger WHERE seq = ?", (batch,)).fetchone()
    try:
        return datetime.fromisoformat(str(loads(row[0])["ts"])).timestamp() if row else fallback
    except (ValueError, TypeError, KeyError):
        return fallback


# num, batch, the repeat's rebuilt body (b"" when its head is gone or damaged), head rowid, id
RebuiltRepeat = tuple[int, int, bytes, int, str]


def rebuilt_repeats(conn: sqlite3.Connection) -> Iterator[RebuiltRepeat]:
    """Every repeat in number order, its body rebuilt from its head's as it was received."""
    heads: dict[int, bytes | None] = {}
    for num, rid, head, batch, observed_at, seq, volatile in conn.execute(
            "SELECT num, id, head, batch, observed_at, seq, volatile FROM observation_repeats ORDER BY num"):
        if head not in heads:
            if len(heads) > 50000:
                heads.clear()
            row = conn.execute("SELECT body FROM observations WHERE rowid = ?", (head,)).fetchone()
            heads[head] = bytes(row[0]) if row else None
        head_body = heads[head]
        try:
            body = rebuild(head_body, id_text(rid), observed_at, seq, volatile) if head_body is not None else b""
        except (ValueError, TypeError, KeyError, OverflowError):
            body = b""
        yield num, batch, body, head, id_text(rid)


def repeats_between(conn: sqlite3.Connection, lo: int, hi: int) -> Iterator[tuple[int, int, str, bytes]]:
    """(number, batch, site, body rebuilt from its head's; b"" when that fails) of the repeats numbered
    `lo` to `hi`, in number order; a repeat whose head is gone is missing here."""
    for num, batch, site, head, rid, observed_at, seq, volatile in conn.execute(
            "SELECT r.num, r.batch, o.site, o.body, r.id, r.observed_at, r.seq, r.volatile FROM observation_repeats r"
            " JOIN observations o ON o.rowid = r.head WHERE r.num BETWEEN ? AND ? ORDER BY r.num", (lo, hi)):
        try:
            body = rebuild(bytes(head), id_text(rid), observed_at, seq, volatile)
        except (ValueError, TypeError, KeyError, OverflowError):
            body = b""
        yield num, batch, site, body


def batch_arrivals(conn: sqlite3.Connection, batches: Sequence[int]) -> dict[int, float]:
    """batch -> when it arrived (its `batches` row's or its ledger entry's time): repeats keep no arrival time
    of their own."""
    out = sealed_received_at(conn, batches)
    base = batch_base(conn)
    wanted = sorted({b for b in batches if not is_sealed_batch(b, base)})
    for i in range(0, len(wanted), 900):
        chunk = wanted[i:i + 900]
        for seq, body in conn.execute(
                f"SELECT seq, body FROM ledger WHERE seq IN ({','.join('?' * len(chunk))})", chunk):  # noqa: S608
            try:
                out[seq] = datetime.fromisoformat(str(loads(body)["ts"])).timestamp()
            except (ValueError, TypeError, KeyError):
                continue  # an altered entry: the chain check names it
    return out
