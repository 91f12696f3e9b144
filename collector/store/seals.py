"""What `ledger verify` checks of the seals (collector/proof/seal.py): that they cover the batch numbers one
run after another, every batch row a seal covers is there and names it, and the rows still hash to the
seal's Merkle root. The rows' own roots are then what each batch's observations are checked against."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from collector.proof.canonical import loads
from collector.proof.ledger import Problem, VerifyReport
from collector.proof.merkle import merkle_root
from collector.proof.seal import SEAL_TYPE, seal_commitment
from collector.store.batches import batch_base, batch_leaves
from collector.store.sealprune import PrunedSeal, newest_pruned_seals, seal_tree

Seal = tuple[int, int, int, str]  # seq, first batch, last batch, root hex
BatchRow = tuple[int, int, bytes, int, int, int | None]  # batch, n, root, received_us, after_seq, seal


def seal_entries(conn: sqlite3.Connection, report: VerifyReport) -> list[Seal]:
    """The seals in seq order; one that is not a seal's data is named."""
    out: list[Seal] = []
    q = f"SELECT seq, body FROM ledger WHERE CAST(body AS TEXT) LIKE '%\"type\":\"{SEAL_TYPE}\"%' ORDER BY seq"
    for seq, body in conn.execute(q):
        try:
            entry = loads(body)
        except ValueError:
            continue  # an altered entry: the chain check names it
        if not isinstance(entry, dict) or entry.get("type") != SEAL_TYPE:
            continue
        try:
            out.append((seq, *seal_commitment(entry.get("data"))))
        except (ValueError, KeyError, TypeError) as e:
            report.problems.append(Problem(seq, "seal", f"not a seal's data ({e})"))
    return out


def _rows(conn: sqlite3.Connection, after: int) -> Iterator[BatchRow]:
    while True:  # in chunks: a PostgreSQL cursor would hold every row at once
        rows = conn.execute("SELECT batch, n, root, received_us, after_seq, seal FROM batches WHERE batch > ?"
                            " ORDER BY batch LIMIT 20000", (after,)).fetchall()
        yield from ((int(b), int(n), bytes(r), int(us), int(a), s) for b, n, r, us, a, s in rows)
        if len(rows) < 20000:
            return
        after = int(rows[-1][0])


def verify_seals(conn: sqlite3.Connection, report: VerifyReport) -> dict[int, tuple[str, int, int]]:
    """Check the seals against the batch rows; return batch -> (Merkle root hex, count, the seq of the seal
    it names or 0) of every row."""
    seals = seal_entries(conn, report)
    base = batch_base(conn)
    if base is None and (seals or conn.execute("SELECT 1 FROM batches LIMIT 1").fetchone()):
        report.problems.append(Problem(seals[0][0] if seals else 0, "seal", "the store's batch base (meta "
                                       "batches.base) is gone, though batches were stored after it"))
    if base is None:
        base = seals[0][1] - 1 if seals else 0
    expect = base + 1
    for seq, first, last, _ in seals:  # one run after another, in the chain's order
        if first != expect:
            report.problems.append(Problem(seq, "seal", f"covers batches {first}..{last}, but the seal before it"
                                                        f" ended at batch {expect - 1}"))
        expect = max(expect, last + 1)
    by_first = sorted(seals, key=lambda s: s[1])
    pruned = newest_pruned_seals(conn)
    roots: dict[int, tuple[str, int, int]] = {}
    i, held = 0, list[BatchRow]()  # the current seal's rows
    rows = _rows(conn, base)
    for row in rows:
        batch = row[0]
        roots[batch] = (row[2].hex(), row[1], int(row[5] or 0))
        while i < len(by_first) and by_first[i][2] < batch:
            _close(by_first[i], held, report, pruned)
            i, held = i + 1, []
        if i < len(by_first) and by_first[i][1] <= batch:
            held.append(row)
        elif row[5] is not None and row[5] <= report.head_seq:  # beyond the head: verify_tail names it
            report.problems.append(Problem(row[5], "seal", f"batch {batch} names this entry as its seal,"
                                                           " which does not cover it"))
    for seal in by_first[i:]:
        _close(seal, held, report, pruned)
        held = []
    return roots


def _close(seal: Seal, rows: list[BatchRow], report: VerifyReport, pruned: dict[int, PrunedSeal]) -> None:
    seq, first, last, root = seal
    if seq in pruned:
        _close_pruned(seal, rows, report, pruned[seq])
        return
    if len(rows) != last - first + 1:
        report.problems.append(Problem(seq, "seal", f"{last - first + 1 - len(rows)} of the {last - first + 1}"
                                                    f" batch rows it covers ({first}..{last}) are gone"))
        return
    if any(r[5] != seq for r in rows):
        report.problems.append(Problem(seq, "seal", "a batch row it covers names another seal"))
    if merkle_root(batch_leaves([r[:5] for r in rows])).hex() != root:
        report.problems.append(Problem(seq, "seal", f"the rows of batches {first}..{last} no longer match its"
                                                    " Merkle root"))


def _close_pruned(seal: Seal, rows: list[BatchRow], report: VerifyReport, prior: PrunedSeal) -> None:
    """A seal some of whose batch rows compaction removed: the rows kept and its proof rebuild the root."""
    seq, first, last, root = seal
    if any(r[5] != seq for r in rows):
        report.problems.append(Problem(seq, "seal", "a batch row it covers names another seal"))
    if not rows and not prior[0]:
        return  # compaction emptied every batch it sealed: nothing is left that it commits to
    try:
        ok = seal_tree(last - first + 1, first, [r[:5] for r in rows], prior).hash().hex() == root
    except ValueError as e:
        report.problems.append(Problem(seq, "seal", f"the batch rows compaction kept of it: {e}"))
        return
    if not ok:
        report.problems.append(Problem(seq, "seal", f"the batch rows compaction kept of batches {first}..{last}"
                                                    " no longer match its Merkle root"))
