"""The hash-chained ledger: every observation batch (sealed with others: collector/proof/seal.py), finding change,
attestation and user action.

entry hash = SHA-256(previous hash || the entry's body as stored; docs/ledger-format.md). Signed checkpoints
(Ed25519, the site key) commit to (seq, hash) so an exported segment can be checked offline
by anyone holding the site's public key. The store appends and reads the rows
(collector/store/ledger_table.py); this module makes and checks them.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from collector.proof.canonical import loads, stored_json
from collector.proof.sitekey import verify_signature

GENESIS = bytes(32)


@dataclass
class LedgerEntry:
    seq: int
    hash: str
    body: bytes

    @property
    def data(self) -> dict[str, Any]:
        return loads(self.body)


def entry_body(seq: int, ts: datetime | str, type_: str, actor: str, data: dict[str, Any]) -> bytes:
    """`ts` as a datetime, or already as `stamp(ts)` when many entries share it."""
    return next(entry_bodies(seq, ts if isinstance(ts, str) else stamp(ts), type_, actor, [stored_json(data)]))


def entry_bodies(first_seq: int, ts: str, type_: str, actor: str, datas: Iterable[bytes]) -> Iterator[bytes]:
    """The bodies of entries first_seq, first_seq + 1, ... sharing ts, type and actor, each data already
    encoded by `stored_json`: the bytes `stored_json` makes of {seq, ts, type, actor, data}, joined
    around the data rather than encoding it again (the outer keys in their sorted order)."""
    head = b'{"actor":' + stored_json(actor) + b',"data":'
    tail = b',"ts":' + stored_json(ts) + b',"type":' + stored_json(type_) + b"}"
    for seq, data in enumerate(datas, first_seq):
        yield b'%b%b,"seq":%d%b' % (head, data, seq, tail)  # one formatting: no tuple nor str of the seq made


# The data of an `observations` entry (one ingested batch). Form 1 (stores written before it changed) also
# named the batch's first and last observation ids and its count per kind: about 450 bytes per batch, for
# facts its rows hold while they are kept. Form 2 keeps only what the Merkle proof needs (docs/ledger-format.md).
BATCH_FORM = 2


def batch_entry_data(count: int, merkle_root_hex: str) -> dict[str, Any]:
    """The data of a new `observations` entry (form 2)."""
    return {"n": count, "root": merkle_root_hex, "v": BATCH_FORM}


def batch_commitment(data: Any) -> tuple[int, str]:
    """(count, Merkle root hex) an `observations` entry commits to, in either form; KeyError, TypeError or
    ValueError when the data is neither."""
    if not isinstance(data, dict):
        raise TypeError("not an object")
    if data.get("v") == BATCH_FORM:
        return int(data["n"]), str(data["root"])
    if "v" in data:
        raise ValueError(f"unknown batch form {data['v']!r}")
    return int(data["count"]), str(data["merkle_root"])


def stamp(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat()


def checkpoint_message(seq: int, hash_hex: str, ts: str) -> bytes:
    return f"clausewatch-checkpoint\n{seq}\n{hash_hex}\n{ts}".encode()


@dataclass
class Problem:
    seq: int
    what: str  # altered | removed | reordered | signature | checkpoint | observation | seal | truncated | evidence
    detail: str

    def text(self) -> str:
        """seq 0: a problem outside the chain (an evidence file), named by its detail."""
        return f"ledger entry {self.seq}: {self.what}: {self.detail}" if self.seq else f"{self.what}: {self.detail}"


@dataclass
class VerifyReport:
    ok: bool = True
    entries: int = 0
    checkpoints: int = 0
    batches_checked: int = 0
    observations_checked: int = 0
    evidence_checked: int = 0
    last_checkpoint_seq: int = 0
    head_seq: int = 0  # the last entry the chain holds
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "entries": self.entries, "checkpoints": self.checkpoints,
            "batches_checked": self.batches_checked, "observations_checked": self.observations_checked,
            "evidence_checked": self.evidence_checked, "last_checkpoint_seq": self.last_checkpoint_seq,
            "head_seq": self.head_seq,
            "problems": [{"seq": p.seq, "what": p.what, "detail": p.detail} for p in self.problems],
            "first_problem": self.problems[0].text() if self.problems else None,
        }


def verify_chain(rows: Iterable[tuple[int, str, bytes]], report: VerifyReport,
                 start_seq: int = 1, start_hash: bytes = GENESIS) -> dict[int, str]:
    """Walk (seq, hash, body) rows in seq order; record problems; return the hash of every seq."""
    prev, expect = start_hash, start_seq
    hashes: dict[int, str] = {}
    sha = hashlib.sha256
    for seq, stored, body in rows:
        report.entries += 1
        if not isinstance(body, bytes):  # a hand-edited row may come back as text
            body = str(body).encode()
        gap = seq != expect
        if gap and seq > expect:
            report.problems.append(Problem(expect, "removed", f"entries {expect}..{seq - 1} are missing"))
        digest = sha(prev + body).digest()
        if digest.hex() != stored and not gap:
            try:
                inner = loads(body).get("seq")
            except ValueError:  # not even JSON any more
                inner = seq
            if inner != seq:
                report.problems.append(Problem(seq, "reordered", f"holds the body of entry {inner}"))
            else:
                report.problems.append(Problem(seq, "altered", "its content does not match its hash"))
        if digest.hex() != stored:
            digest = bytes.fromhex(stored)  # resynchronise so one change is reported once
        hashes[seq] = digest.hex()
        prev = digest
        expect = seq + 1
    report.head_seq = max(report.head_seq, expect - 1)
    return hashes


def verify_checkpoints(checkpoints: Iterable[tuple[int, str, str, str, str]], hashes: dict[int, str],
                       public_keys: dict[str, Any], report: VerifyReport) -> None:
    for seq, hash_hex, ts, sig_hex, key_id in checkpoints:
        report.checkpoints += 1
        pub = public_keys.get(key_id)
        if pub is None:
            report.problems.append(Problem(seq, "signature", f"checkpoint signed by unknown key {key_id}"))
            continue
        if not verify_signature(pub, bytes.fromhex(sig_hex), checkpoint_message(seq, hash_hex, ts)):
            report.problems.append(Problem(seq, "signature", "checkpoint signature does not verify"))
            continue
        if seq in hashes and hashes[seq] != hash_hex:
            report.problems.append(Problem(seq, "checkpoint", "entry differs from the signed checkpoint"))
        elif seq not in hashes and hashes and seq <= max(hashes):
            report.problems.append(Problem(seq, "removed", "a signed checkpoint names an entry that is gone"))
        report.last_checkpoint_seq = max(report.last_checkpoint_seq, seq)
