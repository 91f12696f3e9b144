"""What `ledger verify` checks beyond the chain itself: every batch's observations against its
Merkle root, every evidence file against its SHA-256, and the traces a removed tail of the chain
leaves in the other tables."""
from __future__ import annotations

import hashlib
import heapq
import sqlite3
from pathlib import Path

from collector.proof.canonical import loads
from collector.proof.ledger import Problem, VerifyReport, batch_commitment
from collector.proof.merkle import merkle_root
from collector.proof.seal import is_sealed_batch
from collector.store.batches import batch_base
from collector.store.numbering import rebuilt_repeats
from collector.store.pruned import PrunedIndex, verify_compactions
from collector.store.seals import verify_seals

_HEX = frozenset("0123456789abcdef")


class EvidenceAltered(Exception):
    """An evidence file's bytes no longer hash to the SHA-256 it is stored under."""

    def __init__(self, sha256: str, found: str):
        super().__init__(f"evidence file {sha256} no longer matches its SHA-256 (its bytes hash to {found})")
        self.sha256, self.found = sha256, found


def is_sha256_hex(text: str) -> bool:
    return len(text) == 64 and all(c in _HEX for c in text)


def evidence_path(evidence_dir: Path, sha256: str) -> Path:
    return evidence_dir / sha256[:2] / sha256


def file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def read_checked(evidence_dir: Path, sha256: str) -> bytes | None:
    """The bytes stored under `sha256`, or None when there is no such file; raises EvidenceAltered
    rather than return bytes that no longer hash to their name."""
    if not is_sha256_hex(sha256):
        return None
    path = evidence_path(evidence_dir, sha256)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    found = hashlib.sha256(data).hexdigest()
    if found != sha256:
        raise EvidenceAltered(sha256, found)
    return data


def verify_evidence(conn: sqlite3.Connection, evidence_dir: Path, report: VerifyReport) -> None:
    """Re-hash every evidence file the store lists; name each one that is missing or altered."""
    for (sha256,) in conn.execute("SELECT sha256 FROM evidence ORDER BY sha256"):
        path = evidence_path(evidence_dir, str(sha256))
        report.evidence_checked += 1
        try:
            found = file_sha256(path)
        except FileNotFoundError:
            report.problems.append(Problem(0, "evidence", f"{path}: missing (listed as evidence {sha256})"))
            continue
        except OSError as e:
            report.problems.append(Problem(0, "evidence", f"{path}: unreadable ({e.strerror or e})"))
            continue
        if found != sha256:
            report.problems.append(Problem(0, "evidence", f"{path}: altered (its bytes hash to {found})"))


def verify_batches(conn: sqlite3.Connection, report: VerifyReport) -> int:
    """Check that the observations of each batch (full rows and repeats rebuilt from their heads, in
    their shared number order) still hash to the Merkle root its ledger entry holds (through the proof
    compaction kept, for a compacted batch; collector/store/pruned.py) or its `batches` row holds (which
    its seal commits to: collector/store/seals.py); return the highest batch numbered by its ledger seq
    that the observations name."""
    roots: dict[int, tuple[str, int, int]] = {}
    q = "SELECT seq, body FROM ledger WHERE CAST(body AS TEXT) LIKE '%\"type\":\"observations\"%'"
    for seq, body in conn.execute(q):
        try:
            data = loads(body)
            if data.get("type") == "observations":
                count, root = batch_commitment(data["data"])
                roots[seq] = (root, count, seq)
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # an altered entry (not JSON, not UTF-8): the chain check names it
    roots.update(verify_seals(conn, report))
    pruned = PrunedIndex(conn)
    base = batch_base(conn)
    current: int | None = None
    rowids: list[int] = []
    bodies: list[bytes] = []
    highest = 0

    def close(batch: int | None, items: list[bytes]) -> None:
        if batch is None:
            return
        report.batches_checked += 1
        want = roots.pop(batch, None)
        if want is None:
            if is_sealed_batch(batch, base):
                report.problems.append(Problem(0, "observation", f"batch {batch}: observations name a batch"
                                                                 " without its row"))
            elif batch <= report.head_seq:  # beyond the head: reported once, as a removed tail
                report.problems.append(Problem(batch, "observation", "observations name a batch the ledger lacks"))
        elif batch in pruned.partial:
            if (why := pruned.check_rows(batch, rowids, items, want[0])) is not None:
                report.problems.append(Problem(want[2], "observation", _named(batch, base, why)))
        elif merkle_root(items).hex() != want[0]:
            report.problems.append(Problem(want[2], "observation", _named(batch, base, f"the {len(items)} observations"
                                           f" of this batch (ledger holds {want[1]}) no longer match its Merkle"
                                           " root")))

    full = conn.execute("SELECT rowid, batch, body FROM observations ORDER BY rowid")
    repeats = ((num, batch, body) for num, batch, body, _, _ in rebuilt_repeats(conn))
    for rowid, batch, body in heapq.merge(full, repeats, key=lambda r: int(r[0])):  # the batches' order
        report.observations_checked += 1
        if batch != current:
            close(current, bodies)
            current, rowids, bodies = batch, [], []
            highest = batch if batch > highest and not is_sealed_batch(batch, base) else highest
        rowids.append(rowid)
        bodies.append(body if isinstance(body, bytes) else str(body).encode())
    close(current, bodies)
    gone = pruned.empty_problems(sorted(roots)) if pruned else {}
    for batch, (_, count, seq) in roots.items():
        why = gone.get(batch, "all observations of this batch are gone")
        if why is not None:
            report.problems.append(Problem(seq, "observation", _named(batch, base, why.replace(
                "all observations", f"all {count} observations"))))
    verify_compactions(conn, report)
    return highest


def _named(batch: int, base: int | None, why: str) -> str:
    """A problem of a batch, named by its number where the entry it is reported at is its seal."""
    return f"batch {batch}: {why}" if is_sealed_batch(batch, base) else why


# tables whose rows name the ledger entry that recorded them (observations numbered by batch rows do not)
_REFERRERS = (("observations", "batch"), ("observation_repeats", "batch"), ("finding_intervals", "ledger_seq"),
              ("events", "ledger_seq"), ("exceptions", "ledger_seq"), ("attestations", "ledger_seq"),
              ("pruned_batches", "compaction"), ("batches", "seal"), ("pruned_seals", "compaction"))


def verify_tail(conn: sqlite3.Connection, report: VerifyReport, batch_max: int | None = None) -> None:
    """Entries removed from the end of the chain leave no gap to see; the newest signed checkpoint
    and the rows of other tables that name a ledger entry still show how far the chain went."""
    head = report.head_seq
    traces: list[tuple[int, str]] = []
    cp = conn.execute("SELECT max(seq) FROM checkpoints").fetchone()[0]
    if cp is not None and cp > head:
        traces.append((cp, f"the newest signed checkpoint covers entry {cp}"))
    base = batch_base(conn)
    for table, column in _REFERRERS:
        if table.startswith("observation") and batch_max is not None:
            top = batch_max
        else:
            below = f" WHERE {column} <= {int(base)}" if table.startswith("observation") and base is not None else ""
            top = conn.execute(f"SELECT max({column}) FROM {table}{below}").fetchone()[0]  # noqa: S608 (fixed names)
        if top is not None and top > head:
            traces.append((top, f"{table}.{column} names entry {top}"))
    if traces:
        furthest = max(seq for seq, _ in traces)
        report.problems.append(Problem(head + 1, "truncated", f"the chain ends at entry {head}, but "
                                       + "; ".join(text for _, text in sorted(traces, reverse=True))
                                       + f": entries {head + 1}..{furthest} or more were removed"))
