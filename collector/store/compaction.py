"""`store compact`: drop the raw observations beyond their window that nothing needs (collector/store/
keepset.py says what is kept and why), keep what proves the rest against its batch's Merkle root
(collector/store/prunedproof.py), remove evidence files no kept observation names once their own
retention is over, and record each chunk of it as a `store.compacted` ledger entry written in the same
transaction as the chunk's deletions and proofs."""
from __future__ import annotations

import heapq
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from collector.proof.canonical import loads
from collector.proof.ledger import batch_commitment
from collector.proof.merkle import leaf_hash
from collector.proof.seal import is_sealed_batch
from collector.store.batches import SqliteBatches, batch_base
from collector.store.keepset import REASONS, Key, Selection, select
from collector.store.numbering import repeats_between
from collector.store.pruned import PrunedRow, newest_partial, pruned_digest
from collector.store.prunedproof import PartialTree
from collector.store.retention import RetentionPolicy
from collector.store.sealprune import SealUnproven, prune_seals
from collector.store.sqlite_parts import SqliteParts
from rules.model import Control

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
ENTRY_TYPE = "store.compacted"
# how a stored body without evidence begins (keys sorted: collector/store/sqlite.py observation_body)
NO_EVIDENCE = b'{"evidence":[]'
SCAN_ROWS = 5000
CHUNK_ROWS = 20_000  # observations dropped per write transaction: ingest waits about a second at most
CHUNK_PAUSE_S = 0.05
WHY = ("raw observations older than their kind's window; kept: the newest of each key (of an event kind no check"
       " reads, only while its key keeps another observation), those findings and their intervals cite, those"
       " current findings were evaluated from, the first of each key per keyframe period (of an event kind, the"
       " first of each subject and kind), and the full rows kept repeats are rebuilt from; events dropped are"
       " counted per subject, kind and UTC day")


class CompactionRefused(Exception):
    """The store does not verify where compaction would prune: it would destroy the evidence of that."""


@dataclass
class CompactionResult:
    ledger_seq: int | None
    dropped: int = 0
    dropped_by_kind: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))
    batches_partly_kept: int = 0
    batches_emptied: int = 0
    proof_bytes: int = 0
    evidence_removed: list[str] = field(default_factory=list)
    ledger_entries: list[int] = field(default_factory=list)  # one `store.compacted` entry per chunk
    latest_removed: int = 0  # `latest` rows of event keys dropped whole

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _batch_rows(conn: Any, batches: set[int], lo: int, hi: int) -> dict[int, list[tuple[int, str, bytes]]]:
    """batch -> its stored (number, site, body) in number order, full rows and repeats (rebuilt), for the
    batches asked; a batch's observations were numbered together, so they lie between `lo` and `hi`."""
    out: dict[int, list[tuple[int, str, bytes]]] = {b: [] for b in batches}
    full = conn.execute("SELECT rowid, batch, site, body FROM observations WHERE rowid BETWEEN ? AND ? ORDER BY rowid",
                        (lo, hi))
    for rowid, batch, site, body in heapq.merge(full, repeats_between(conn, lo, hi), key=lambda r: int(r[0])):
        if batch in out:
            out[batch].append((rowid, site, body if isinstance(body, bytes) else str(body).encode()))
    return out


def _ledgered(conn: Any, batch: int) -> tuple[int, str]:
    """(count, Merkle root hex) of a batch: its sealed `batches` row, or its own ledger entry."""
    if is_sealed_batch(batch, batch_base(conn)):
        found = conn.execute("SELECT n, root FROM batches WHERE batch = ? AND seal IS NOT NULL", (batch,)).fetchone()
        if found is None:
            raise CompactionRefused(f"batch {batch}: no sealed row of it; run ledger verify")
        return int(found[0]), bytes(found[1]).hex()
    row = conn.execute("SELECT body FROM ledger WHERE seq = ?", (batch,)).fetchone()
    try:
        return batch_commitment(loads(row[0])["data"] if row else None)
    except (ValueError, KeyError, TypeError) as e:
        raise CompactionRefused(f"ledger entry {batch}: not the observations batch its rows name; run ledger verify"
                                ) from e


def _tree(batch: int, ledgered: tuple[int, str], rows: list[tuple[int, str, bytes]], prior: PrunedRow | None
          ) -> tuple[PartialTree, int]:
    """The batch's tree from its stored rows (and an earlier compaction's proof), checked against its root."""
    size, root = ledgered
    first = prior.first_rowid if prior else rows[0][0]
    leaves = {rowid - first: leaf_hash(body) for rowid, _, body in rows}
    if prior is not None and sorted(leaves) != prior.kept:
        raise CompactionRefused(f"ledger entry {batch}: its observations are not those its last compaction kept;"
                                " run ledger verify")
    try:
        tree = PartialTree(size, leaves, prior.hashes if prior else ())
        ok = tree.hash().hex() == root
    except (ValueError, KeyError):
        ok = False
    if not ok:
        raise CompactionRefused(f"ledger entry {batch}: its observations no longer match its Merkle root;"
                                " run ledger verify")
    return tree, first


def _still_there(conn: Any, sel: Selection) -> dict[int, int]:
    """number -> batch of the observations to drop still stored (another compaction may have run since they
    were chosen); repeats are found by their id, which their table is keyed on."""
    where: dict[int, int] = {}
    wanted = sorted(n for n in sel.drop if n not in sel.repeat_ids)
    for i in range(0, len(wanted), 900):
        chunk = wanted[i:i + 900]
        marks = ",".join("?" * len(chunk))
        where.update(conn.execute(f"SELECT rowid, batch FROM observations WHERE rowid IN ({marks})", chunk).fetchall())
    ids = [sel.repeat_ids[n] for n in sorted(sel.drop) if n in sel.repeat_ids]
    for i in range(0, len(ids), 900):
        keys = ids[i:i + 900]
        where.update(conn.execute("SELECT num, batch FROM observation_repeats"
                                  f" WHERE id IN ({','.join('?' * len(keys))})", keys).fetchall())
    return where


def _rows_for(conn: Any, where: dict[int, int], compaction: int) -> tuple[list[PrunedRow], int, int]:
    """The proof rows of every batch losing the observations `where` names (rowid -> batch), and the runs
    of batches left empty."""
    drop = set(where)
    wanted = sorted(drop)
    affected = set(where.values())
    prior = newest_partial(conn, affected)
    ledgered = {b: _ledgered(conn, b) for b in affected}
    spread = max(size for size, _ in ledgered.values())  # a batch's rows lie within its size of any of them
    rows_of = _batch_rows(conn, affected, wanted[0] - spread, wanted[-1] + spread)
    out: list[PrunedRow] = []
    emptied: dict[int, str] = {}
    for batch in sorted(affected):
        rows = rows_of[batch]
        tree, first = _tree(batch, ledgered[batch], rows, prior.get(batch))
        keep = [rowid - first for rowid, _, _ in rows if rowid not in drop]
        sites = ",".join(sorted({s for _, s, _ in rows} | set(prior[batch].sites.split(",") if batch in prior else ())))
        if not keep:
            emptied[batch] = sites
            continue
        out.append(PrunedRow(batch, compaction, batch, first, tree.size, keep, tree.pruned_to(keep), sites))
    alive = sorted({b for (b,) in conn.execute(
        "SELECT batch FROM observations WHERE rowid BETWEEN ? AND ? UNION SELECT batch FROM observation_repeats"
        " WHERE num BETWEEN ? AND ?", (wanted[0], wanted[-1], wanted[0], wanted[-1]))} - set(emptied))
    runs = _runs(sorted(emptied), alive, emptied, compaction)
    return out + runs, len(out), len(emptied)


def _runs(emptied: list[int], alive: list[int], sites: dict[int, str], compaction: int) -> list[PrunedRow]:
    """Emptied batches as runs of one site each: a run never spans a batch that still holds observations."""
    out: list[PrunedRow] = []
    j = 0
    for b in emptied:
        while j < len(alive) and alive[j] < b:
            j += 1
        run = out[-1] if out else None
        # a run goes on while no batch with rows lies between and the sites are the same (site bundles
        # withhold other sites' batches by them: collector/reports/foreign.py)
        if run is not None and (j == 0 or alive[j - 1] < run.last_batch) and run.sites == sites[b]:
            run.last_batch = b
        else:
            out.append(PrunedRow(b, compaction, b, 0, 0, [], [], sites[b]))
    return out


def _delete(conn: Any, sel: Selection, numbers: set[int]) -> None:
    """Delete the observations numbered `numbers`: repeats by their id, full rows by their rowid."""
    ids = [sel.repeat_ids[n] for n in sorted(numbers) if n in sel.repeat_ids]
    rowids = sorted(n for n in numbers if n not in sel.repeat_ids)
    for table, column, keys in (("observation_repeats", "id", ids), ("observations", "rowid", rowids)):
        for i in range(0, len(keys), 900):
            chunk = keys[i:i + 900]
            conn.execute(f"DELETE FROM {table} WHERE {column} IN ({','.join('?' * len(chunk))})", chunk)  # noqa: S608


def _named_evidence(conn: Any, after: int = 0, dropping: frozenset[int] | set[int] = frozenset()
                    ) -> tuple[set[str], int]:
    """The evidence files the full rows numbered beyond `after` name (but those `dropping`), and the highest
    number read."""
    named: set[str] = set()
    while True:  # in chunks: a PostgreSQL cursor would hold every row at once
        rows = conn.execute("SELECT rowid, body FROM observations WHERE rowid > ? AND substr(body, 1, ?) != ?"
                            " ORDER BY rowid LIMIT ?", (after, len(NO_EVIDENCE), NO_EVIDENCE, SCAN_ROWS)).fetchall()
        for rowid, body in rows:
            if rowid in dropping:
                continue
            try:
                refs = loads(body).get("evidence") or []
            except (ValueError, AttributeError):
                continue  # a damaged row: ledger verify names it; its files stay
            named.update(r["sha256"] for r in refs if isinstance(r, dict) and isinstance(r.get("sha256"), str))
        if rows:
            after = rows[-1][0]
        if len(rows) < SCAN_ROWS:
            return named, after


def _unreferenced_evidence(conn: Any, policy: RetentionPolicy, now: datetime, named: set[str], upto: int
                           ) -> list[str]:
    """Evidence files stored before their retention began that no remaining observation names: `named` is
    what those up to number `upto` named (read on the snapshot, outside the write); rows stored since are
    read here (a repeat names its full row's files, so full rows are enough)."""
    before = (now - timedelta(days=policy.evidence_keep_days)).timestamp()
    old = {s for (s,) in conn.execute("SELECT sha256 FROM evidence WHERE stored_at < ?", (before,))}
    if not old:
        return []
    return sorted(old - named - _named_evidence(conn, upto)[0])


def compact(store: SqliteBatches, policy: RetentionPolicy, controls: Sequence[Control], now: datetime, *,
            actor: str = "collector", progress: Progress | None = None,
            chunk_rows: int = CHUNK_ROWS) -> CompactionResult:
    """Compact as of `now`; returns what was dropped and kept (no ledger entry when nothing was).

    The drops are written newest first in transactions of about `chunk_rows` observations each (a batch
    never split between two), each one complete with its proofs and its own `store.compacted` entry, so that ingest
    waits for one chunk at most, never for the whole compaction; the last also removes the evidence files."""
    say = progress or (lambda _: None)
    store.seal_batches()  # what is kept is proven against sealed batches
    say("selecting what to keep")
    # chosen on a snapshot, so ingest goes on meanwhile: what arrives since only supersedes what was
    # chosen (findings cite the newest observations, which are kept)
    with store.snapshot() as snap:
        sel: Selection = select(snap, policy, controls, now)
        named, upto = _named_evidence(snap, dropping=sel.drop)
    result = CompactionResult(None, kept=sel.kept)
    # newest first: a repeat is rebuilt from its full row, which an older batch may hold, so a chunk must
    # find the full rows of its repeats still there (a full row dropped has every repeat of it dropped)
    pending = sorted(sel.drop, reverse=True)
    hi = math.inf
    revived: set[Key] = set()
    while True:
        chunk, pending = pending[:chunk_rows], pending[chunk_rows:]
        with store.write() as conn:
            where = _still_there(conn, _only(sel, chunk)) if chunk else {}
            if pending and where:  # the chunk's oldest batch may go on into the next: it waits for it
                last = where[min(where)]
                held = [n for n in chunk if where.get(n) == last]
                if len(held) < len(where):
                    pending = held + pending
                    where = {n: b for n, b in where.items() if b != last}
            where = _unrevived(conn, sel, where, revived)
            gone = [] if pending else _unreferenced_evidence(conn, policy, now, named, upto)
            # the chunk speaks for the candidates numbered from its oldest drop up to the previous chunk's
            lo = min(where) if pending and where else -math.inf
            if _write_chunk(store, conn, sel, where, gone, policy, actor, now, result, say, (lo, hi)):
                hi = lo
        # after the commit: a crash in between leaves stray bytes, never a listed file missing
        if gone:
            store.drop_evidence_bytes(gone)
        if not pending:
            return result
        time.sleep(CHUNK_PAUSE_S)  # a writer waiting for the store gets its turn before the next chunk


def _only(sel: Selection, numbers: list[int]) -> Selection:
    """The selection narrowed to dropping `numbers`."""
    return Selection(set(numbers), sel.kept, sel.kind_of, sel.repeat_ids)


def _unrevived(conn: Any, sel: Selection, where: dict[int, int], revived: set[Key]) -> dict[int, int]:
    """`where` without the observations of an event key chosen to go whole that another observation joined
    since the snapshot (its `latest` row names a newer one, which may repeat one of them); such keys are
    added to `revived`, so that the later chunks keep theirs too."""
    for n in where:
        key = sel.latest_gone.get(n)
        if key is not None and conn.execute(
                "SELECT 1 FROM latest WHERE subject_kind = ? AND subject_id = ? AND kind = ? AND key = ?"
                " AND coalesce(num, obs_rowid) != ?", (*key, n)).fetchone():
            revived.add(key)
    if not revived:
        return where
    return {n: b for n, b in where.items() if sel.whole_of.get(n) not in revived}


def _drop_latest(conn: Any, sel: Selection, numbers: Iterable[int]) -> int:
    """Delete the `latest` rows of the event keys dropped whole among `numbers`, unless an observation of the
    key arrived since (the row then names it); returns how many were deleted."""
    gone = 0
    for n in numbers:
        key = sel.latest_gone.get(n)
        if key is not None:
            gone += conn.execute("DELETE FROM latest WHERE subject_kind = ? AND subject_id = ? AND kind = ? AND key = ?"
                                 " AND coalesce(num, obs_rowid) = ?", (*key, n)).rowcount
    return gone


def _write_chunk(store: SqliteParts, conn: Any, sel: Selection, where: dict[int, int], gone: list[str],
                 policy: RetentionPolicy, actor: str, now: datetime, result: CompactionResult,
                 say: Progress, span: tuple[float, float]) -> bool:
    """Drop the observations `where` names (number -> batch) and the evidence files `gone`, with the proofs
    of what their batches keep and one `store.compacted` entry stating what is kept of the candidates
    numbered within `span`; add it all to `result`. False when there was nothing to write."""
    if not where and not gone:
        return False
    seq = store.ledger.last_seq + 1
    say(f"proving what is kept of the batches losing {len(where):,} observations")
    rows, partly, emptied = _rows_for(conn, where, seq) if where else ([], 0, 0)
    say("deleting")
    _delete(conn, sel, set(where))
    try:  # the rows of sealed batches left empty go too; their seals keep what proves the rest
        rows_removed = prune_seals(conn, set(where.values()), seq)
    except SealUnproven as e:
        raise CompactionRefused(str(e)) from e
    latest_gone = _drop_latest(conn, sel, where)
    events = sel.events_dropped(where)
    conn.executemany("INSERT INTO event_days VALUES (?,?,?,?,?) ON CONFLICT (subject_kind, subject_id, kind, day)"
                     " DO UPDATE SET dropped = event_days.dropped + excluded.dropped",
                     events)
    for i in range(0, len(gone), 900):
        files = gone[i:i + 900]
        conn.execute(f"DELETE FROM evidence WHERE sha256 IN ({','.join('?' * len(files))})", files)
    conn.executemany("INSERT INTO pruned_batches VALUES (?,?,?,?,?,?,?,?)", [r.stored() for r in rows])
    # `where`, not the selection: another compaction may have dropped some of it meanwhile
    by_kind = sel.dropped_by_kind(where)
    entry = store.ledger.append(conn, ENTRY_TYPE, actor, {
        "rule": "rules/retention.yaml", "policy": policy.as_dict(), "why": WHY,
        "dropped": len(where), "dropped_by_kind": by_kind,
        "kept": sel.kept_among(*span), "events_dropped": events, "latest_removed": latest_gone,
        "batches": {"partly_kept": partly, "emptied": emptied, "rows": len(rows), "rows_removed": rows_removed},
        "pruned_digest": pruned_digest(rows), "evidence_removed": gone}, ts=now)
    assert entry.seq == seq  # the rows name the entry they were written with
    result.ledger_seq = entry.seq
    result.ledger_entries.append(entry.seq)
    result.dropped += len(where)
    for kind, n in by_kind.items():
        result.dropped_by_kind[kind] = result.dropped_by_kind.get(kind, 0) + n
    result.dropped_by_kind = dict(sorted(result.dropped_by_kind.items()))
    result.batches_partly_kept += partly
    result.batches_emptied += emptied
    result.proof_bytes += sum(4 * len(r.kept) + 32 * len(r.hashes) for r in rows)
    result.evidence_removed += gone
    result.latest_removed += latest_gone
    return True
