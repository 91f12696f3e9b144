"""Seals: one ledger entry commits to a run of ingested batches (docs/ledger-format.md).

Each batch is a row of the store's `batches` table (number, observation count, Merkle root of its
observations, arrival time, the ledger head when it was stored), written in the ingest transaction. A
seal entry names the run of batch numbers it covers and the RFC 6962 Merkle root over one leaf per
batch, each leaf the batch's row as the line `batch_line` makes. Batches are numbered above the store's
batch base (collector/store/batches.py): a batch number at or below it is the seq of its own
`observations` entry (forms 1 and 2)."""
from __future__ import annotations

from typing import Any

SEAL_TYPE = "batches.sealed"
SEAL_FORM = 3
def batch_line(batch: int, count: int, root_hex: str, received_us: int, after_seq: int) -> bytes:
    """A batch's leaf in its seal's tree: `batch,count,root,received_us,after_seq` in decimal and hex."""
    return f"{batch},{count},{root_hex},{received_us},{after_seq}".encode()


def seal_entry_data(first: int, last: int, root_hex: str) -> dict[str, Any]:
    return {"v": SEAL_FORM, "first": first, "last": last, "root": root_hex}


def seal_commitment(data: Any) -> tuple[int, int, str]:
    """(first batch, last batch, Merkle root hex) a seal commits to; KeyError, TypeError or ValueError when
    the data is not a seal."""
    if not isinstance(data, dict):
        raise TypeError("not an object")
    if data.get("v") != SEAL_FORM:
        raise ValueError(f"unknown seal form {data.get('v')!r}")
    first, last, root = int(data["first"]), int(data["last"]), str(data["root"])
    if not 0 < first <= last:
        raise ValueError(f"batches {first}..{last} are not a run of sealed batch numbers")
    return first, last, root


def is_sealed_batch(batch: int, base: int | None) -> bool:
    """Whether the batch number is a row of the `batches` table (not an `observations` entry's seq), given
    the store's batch base (None: the store has no such batch yet)."""
    return base is not None and batch > base
