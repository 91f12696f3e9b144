"""The `pruned_batches` rows compaction writes, and how `ledger verify` checks a compacted store with them.

A row is either the proof of one batch that kept some observations (size > 0: where its first
observation was stored, the kept leaves' positions, the pruned subtrees' roots) or a run of batches a
compaction left empty (size 0, batch..last_batch). Rows are only added: a batch compacted again gets a
newer row, and the newest one holds. Each `store.compacted` ledger entry carries the digest of the
rows it wrote, so a removed or edited row is named as well."""
from __future__ import annotations

import hashlib
import heapq
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from collector.proof.canonical import loads
from collector.proof.ledger import Problem, VerifyReport
from collector.proof.merkle import leaf_hash
from collector.store.prunedproof import PartialTree, pack_positions, unpack_hashes, unpack_positions

_COLS = "batch, compaction, last_batch, first_rowid, size, kept, hashes, sites"


@dataclass
class PrunedRow:
    batch: int
    compaction: int
    last_batch: int
    first_rowid: int
    size: int
    kept: list[int]
    hashes: list[bytes]
    sites: str

    @classmethod
    def of(cls, r: Sequence) -> PrunedRow:
        return cls(r[0], r[1], r[2], r[3], r[4], unpack_positions(bytes(r[5])), unpack_hashes(bytes(r[6])), r[7])

    def stored(self) -> tuple:
        return (self.batch, self.compaction, self.last_batch, self.first_rowid, self.size,
                pack_positions(self.kept), b"".join(self.hashes), self.sites)

    def line(self) -> bytes:
        b, c, last, first, size, kept, hashes, sites = self.stored()
        return f"{b},{last},{first},{size},{kept.hex()},{hashes.hex()},{sites}\n".encode()


def pruned_digest(rows: Iterable[PrunedRow]) -> str:
    """SHA-256 over the rows one compaction wrote, one line each in batch order."""
    h = hashlib.sha256()
    for r in sorted(rows, key=lambda r: r.batch):
        h.update(r.line())
    return h.hexdigest()


def newest_partial(conn: sqlite3.Connection, batches: Iterable[int] | None = None) -> dict[int, PrunedRow]:
    """batch -> the newest proof row of each batch that kept observations (of the given batches)."""
    out: dict[int, PrunedRow] = {}
    if batches is None:
        rows = conn.execute(f"SELECT {_COLS} FROM pruned_batches WHERE size > 0 ORDER BY compaction").fetchall()
    else:
        wanted, rows = sorted(batches), []
        for i in range(0, len(wanted), 900):
            chunk = wanted[i:i + 900]
            rows += conn.execute(f"SELECT {_COLS} FROM pruned_batches WHERE size > 0 AND batch IN"  # noqa: S608
                                 f" ({','.join('?' * len(chunk))}) ORDER BY compaction", chunk).fetchall()
        rows.sort(key=lambda r: r[1])
    for r in rows:
        try:
            out[r[0]] = PrunedRow.of(r)
        except ValueError:  # an edited row: its compaction's digest names it
            continue
    return out


def _emptied_by(runs: list[tuple[int, int, int]], batches: list[int]) -> dict[int, int]:
    """batch -> the newest compaction whose run of emptied batches covers it (for sorted `batches`)."""
    out: dict[int, int] = {}
    active: list[tuple[int, int]] = []  # (-compaction, last batch)
    i = 0
    for b in batches:
        while i < len(runs) and runs[i][0] <= b:
            heapq.heappush(active, (-runs[i][2], runs[i][1]))
            i += 1
        while active and active[0][1] < b:  # b only grows: a run that ended before it is done with
            heapq.heappop(active)
        if active:
            out[b] = -active[0][0]
    return out


class PrunedIndex:
    """What compactions left of the batches, for `verify_batches`."""

    def __init__(self, conn: sqlite3.Connection):
        self.partial = newest_partial(conn)
        self.runs = sorted((b, last, c) for b, last, c in conn.execute(
            "SELECT batch, last_batch, compaction FROM pruned_batches WHERE size = 0"))

    def __bool__(self) -> bool:
        return bool(self.partial or self.runs)

    def check_rows(self, batch: int, rowids: list[int], bodies: list[bytes], root_hex: str) -> str | None:
        """Why the stored rows of a compacted batch do not prove against its root; None when they do."""
        row = self.partial[batch]
        positions = [r - row.first_rowid for r in rowids]
        if positions != row.kept:
            lost = sorted(set(row.kept) - set(positions))
            if lost:
                return f"{len(lost)} of the {len(row.kept)} observations compaction kept of this batch are gone"
            extra = sorted(set(positions) - set(row.kept))[:5]
            return f"holds observations compaction did not keep (positions {extra})"
        try:
            tree = PartialTree(row.size, {p: leaf_hash(b) for p, b in zip(positions, bodies, strict=True)},
                               row.hashes)
            ok = tree.hash().hex() == root_hex
        except ValueError:
            ok = False
        return None if ok else (f"the {len(rowids)} observations compaction kept of this batch (of {row.size})"
                                " no longer match its Merkle root")

    def empty_problems(self, batches: list[int]) -> dict[int, str | None]:
        """For batches without a stored observation: None when a compaction emptied them, else the problem."""
        emptied = _emptied_by(self.runs, sorted(batches))
        out: dict[int, str | None] = {}
        for b in batches:
            part = self.partial.get(b)
            ran = emptied.get(b)
            if part is None:
                out[b] = None if ran is not None else "all observations of this batch are gone"
            elif ran is None or ran < part.compaction:
                out[b] = f"all {len(part.kept)} observations compaction kept of this batch are gone"
            else:
                out[b] = None
        return out


def verify_compactions(conn: sqlite3.Connection, report: VerifyReport) -> None:
    """Every `store.compacted` entry's digest against the rows written with it; rows naming no such entry."""
    by_compaction: dict[int, list[PrunedRow]] = {}
    for r in conn.execute(f"SELECT {_COLS} FROM pruned_batches"):
        try:
            by_compaction.setdefault(r[1], []).append(PrunedRow.of(r))
        except ValueError:
            by_compaction.setdefault(r[1], []).append(PrunedRow(r[0], r[1], r[2], r[3], r[4], [], [], "?"))
    q = "SELECT seq, body FROM ledger WHERE CAST(body AS TEXT) LIKE '%\"type\":\"store.compacted\"%'"
    for seq, body in conn.execute(q):
        try:
            data = loads(body)["data"]
        except (ValueError, KeyError, TypeError):
            continue  # an altered entry: the chain check names it
        rows = by_compaction.pop(seq, [])
        if data.get("pruned_digest") != pruned_digest(rows):
            report.problems.append(Problem(seq, "observation", "the proofs of the observations this compaction kept"
                                           " were altered or removed"))
    for seq in sorted(by_compaction):
        report.problems.append(Problem(seq, "observation", "compaction proofs name a compaction the ledger lacks"))


def sites_of_batches(conn: sqlite3.Connection, first: int, last: int) -> dict[int, set[str]]:
    """batch -> the sites its observations were about as compaction recorded them, for the batches between
    ledger entries `first` and `last` it thinned out or emptied (their rows no longer say)."""
    out: dict[int, set[str]] = defaultdict(set)
    for batch, last_batch, sites in conn.execute(
            "SELECT batch, last_batch, sites FROM pruned_batches WHERE batch <= ? AND last_batch >= ?", (last, first)):
        named = {s for s in str(sites).split(",") if s}
        for seq in range(max(batch, first), min(last_batch, last) + 1):
            out[seq] |= named
    return out
