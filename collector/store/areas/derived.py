"""What `ledger verify --deep` recomputes and compares: the derived tables as stored, read from one
snapshot (`LedgerStore.derived_rows`).

SQLite: collector/store/derived.py; its readers: collector/proof/deepverify.py, reevaluate.py."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

# rowid, id, source, site, subject_kind, subject_id, kind, key, observed_at, received_at, seq, batch, body
ObservationColumns = tuple[int, str, str, str, str, str, str, str, float, float, int | None, int, bytes]


class DerivedReader(Protocol):
    """The derived tables as stored, and the ledger entries and observation columns they are
    recomputed from, all from one consistent snapshot."""

    def observation_columns(self) -> Iterator[ObservationColumns]:
        """Every observation's index columns with its body, in the order they were stored."""
        ...

    def ledger_entries(self, types: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
        """(seq, parsed body) of the entries of these types, in seq order."""
        ...

    def batch_rows(self) -> Iterator[tuple[int, int, int]]:
        """(batch, arrival in epoch microseconds, the ledger head when it was stored) of every batch row."""
        ...

    def latest_rows(self) -> dict[tuple[str, str, str, str], tuple[int, float, int]]:
        """(subject kind, subject id, kind, key) -> the full row of the current meaning, the newest's time
        and number (the full row's, or its newest repeat's)."""
        ...

    def rebuilt_repeats(self) -> Iterator[tuple[int, int, bytes, int, str]]:
        """Every repeat in number order: number, batch, body rebuilt from its head's (b"" when the head is
        gone or damaged), head rowid, id."""
        ...

    def bodies(self, rowids: list[int], repeats: Mapping[int, str] | None = None) -> dict[int, tuple[bytes, float]]:
        """rowid -> (body, received_at); the numbers in `repeats` (-> their ids) are repeats, rebuilt."""
        ...

    def finding_rows(self) -> list[tuple[Any, ...]]: ...

    def interval_rows(self) -> list[tuple[Any, ...]]: ...

    def exception_rows(self) -> list[tuple[Any, ...]]: ...

    def event_day_rows(self) -> dict[tuple[str, ...], int]:
        """(subject kind, subject id, kind, UTC day) -> events compaction dropped (table event_days)."""
        ...

    def attestation_rows(self) -> list[tuple[Any, ...]]: ...

    def public_keys(self) -> dict[str, str]: ...
