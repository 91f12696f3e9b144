"""The ledger's entries and checkpoints read back, the seals of stored batches, and the events recorded
beside the ledger (alert acknowledgements, reminders).

SQLite: collector/store/ledger_rows.py, batches.py, seals.py; contract:
tests/collector/store/test_ledger_rows.py (test_seals.py)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from collector.store.areas.derived import DerivedReader


class LedgerStore(Protocol):
    seal_after_s: float  # how old the oldest unsealed batch grows before a seal is due

    def ledger_head(self) -> int:
        """The seq of the last entry this store appended or read."""
        ...

    def ledger_head_stored(self) -> int:
        """The seq of the last entry in the database, whoever appended it, read now: raises when the
        database cannot be read (StoreUnavailable for a server that is away)."""
        ...

    def ledger_entry(self, seq: int) -> tuple[str, bytes] | None:
        """(hash, body) of one entry."""
        ...

    def ledger_entries(self, first: int, last: int) -> Iterator[tuple[int, str, bytes]]:
        """(seq, hash, body) of the entries first..last, in order, read a chunk at a time."""
        ...

    def seal_batches(self, *, due: bool = False) -> int | None:
        """Append a seal committing to the batches stored since the last one: all of them, or (`due`) only
        when the oldest is `seal_after_s` old by the store's clock; the seal's seq, None when none was due."""
        ...

    def unsealed_batches(self) -> int:
        """How many stored batches no seal covers yet."""
        ...

    def batch_base(self) -> int | None:
        """The number just below the store's first batch row (batches are numbered upwards from it; a
        number at or below it is the seq of a batch's own ledger entry); None before the first row."""
        ...

    def checkpoint_at_or_after(self, seq: int) -> int | None: ...

    def checkpoints_between(self, first: int, last: int) -> list[tuple[int, str, str, str, str]]:
        """(seq, hash, ts, signature hex, key id), in order."""
        ...

    def checkpoint_summary(self) -> tuple[int, str | None]:
        """How many checkpoints, and the time of the newest."""
        ...

    def record_event(self, type_: str, actor: str, data: dict[str, Any], *, ts: datetime, subject: tuple[str, str],
                     site: str, detail: str, control: str | None = None, status: str | None = None) -> int:
        """A ledger entry and, for the dashboard, an event row naming it; returns its seq."""
        ...

    def derived_rows(self) -> AbstractContextManager[DerivedReader]:
        """The tables `ledger verify --deep` reads, from one snapshot held until the block ends."""
        ...
