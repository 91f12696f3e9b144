"""The rows of sealed batches that compaction emptied are removed too; what proves the rest against the seal.

A seal's tree has one leaf per batch row (collector/proof/seal.py). Once compaction leaves a batch without an
observation, nothing needs its row any more but its seal's root: compaction writes, per seal, a
`pruned_seals` row with the places (batch - first) of the rows kept and, in tree order, the roots of the
subtrees holding only removed rows (collector/store/prunedproof.py, as for the observations of a batch), and
removes the emptied rows. The newest `pruned_seals` row of a seal holds. A seal left with no row keeps an
empty one: nothing is left that it commits to."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from collector.proof.canonical import loads
from collector.proof.merkle import leaf_hash
from collector.proof.seal import is_sealed_batch, seal_commitment
from collector.store.batches import batch_base, batch_leaves
from collector.store.prunedproof import PartialTree, pack_positions, unpack_hashes, unpack_positions

PrunedSeal = tuple[list[int], list[bytes]]  # kept places, pruned subtree roots


class SealUnproven(Exception):
    """The rows of a seal's batches no longer match its root: removing any would destroy that evidence."""


def newest_pruned_seals(conn: sqlite3.Connection, seals: Iterable[int] | None = None) -> dict[int, PrunedSeal]:
    """seal seq -> its newest `pruned_seals` row (of the given seals); a damaged row reads as nothing kept."""
    q = "SELECT seal, compaction, kept, hashes FROM pruned_seals"
    rows = conn.execute(q).fetchall() if seals is None else [
        r for s in sorted(set(seals)) for r in conn.execute(q + " WHERE seal = ?", (s,)).fetchall()]
    out: dict[int, PrunedSeal] = {}
    for seal, _, kept, hashes in sorted(rows, key=lambda r: r[1]):
        try:
            out[int(seal)] = (unpack_positions(bytes(kept)), unpack_hashes(bytes(hashes)))
        except ValueError:
            out[int(seal)] = ([-1], [])  # matches no rows: the check names the seal
    return out


def seal_tree(size: int, first: int, rows: list[tuple], prior: PrunedSeal | None) -> PartialTree:
    """The tree of a seal from its rows still stored (batch, n, root, received_us, after_seq) and its last
    pruned row; ValueError when they do not fit together."""
    leaves = {int(r[0]) - first: leaf_hash(line) for r, line in zip(rows, batch_leaves(rows), strict=True)}
    if prior is not None and sorted(leaves) != prior[0]:
        raise ValueError("its rows are not those its last compaction kept")
    return PartialTree(size, leaves, prior[1] if prior else ())


def prune_seals(conn: sqlite3.Connection, affected: Iterable[int], compaction: int) -> int:
    """Remove the rows of the sealed batches among `affected` that hold no observation any more, with the
    proofs of their seals; returns how many rows were removed."""
    base = batch_base(conn)
    wanted = sorted({b for b in affected if is_sealed_batch(b, base)})
    if not wanted:
        return 0
    marks = ",".join("?" * len(wanted))
    alive = {b for (b,) in conn.execute(f"SELECT batch FROM observations WHERE batch IN ({marks}) UNION"  # noqa: S608
                                        f" SELECT batch FROM observation_repeats WHERE batch IN ({marks})",
                                        [*wanted, *wanted])}
    # the newest row stays whatever it holds: the next batch is numbered after it (collector/store/batches.py)
    alive.add(int(conn.execute("SELECT max(batch) FROM batches").fetchone()[0] or 0))
    by_seal: dict[int, set[int]] = {}
    for batch, seal in conn.execute(f"SELECT batch, seal FROM batches WHERE batch IN ({marks})"  # noqa: S608
                                    " AND seal IS NOT NULL", wanted):
        if batch not in alive:
            by_seal.setdefault(int(seal), set()).add(int(batch))
    prior = newest_pruned_seals(conn, by_seal)
    removed = 0
    for seal, gone in sorted(by_seal.items()):
        body = conn.execute("SELECT body FROM ledger WHERE seq = ?", (seal,)).fetchone()
        try:
            first, last, root = seal_commitment(loads(body[0])["data"] if body else None)
            rows = conn.execute("SELECT batch, n, root, received_us, after_seq FROM batches WHERE batch BETWEEN ? AND ?"
                                " ORDER BY batch", (first, last)).fetchall()
            tree = seal_tree(last - first + 1, first, rows, prior.get(seal))
            ok = tree.hash().hex() == root
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            raise SealUnproven(f"ledger entry {seal}: the batch rows it seals no longer match its Merkle root;"
                               " run ledger verify")
        keep = [p for p in tree.positions if p + first not in gone]
        conn.execute("INSERT INTO pruned_seals VALUES (?,?,?,?)", (seal, compaction, pack_positions(keep),
                                                                  b"".join(tree.pruned_to(keep))))
        conn.execute(f"DELETE FROM batches WHERE batch IN ({','.join('?' * len(gone))})", sorted(gone))  # noqa: S608
        removed += len(gone)
    return removed
