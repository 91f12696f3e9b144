"""People's inputs: waivers and attestations, each a ledger entry and a row.

SQLite: collector/store/people.py; contract: tests/collector/store/test_people.py."""
from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, Protocol


class WaiverRow(NamedTuple):
    id: int
    control: str
    subject_kind: str
    subject_id: str
    site: str
    reason: str
    owner: str
    approver: str
    created_at: float
    starts_at: float
    ends_at: float
    ledger_seq: int


class AttestationRow(NamedTuple):
    id: int
    body: bytes
    signature: str
    key_id: str
    ledger_seq: int


class PeopleStore(Protocol):
    def add_waiver(self, control: str, subject_kind: str, subject_id: str, site: str, reason: str, owner: str,
                   approver: str, starts_at: datetime, ends_at: datetime, ledger_data: dict[str, Any]
                   ) -> tuple[int, int]:
        """Ledger entry `exception.approved` with `ledger_data`, then the row; (waiver id, ledger seq)."""
        ...

    def waiver_rows(self, *, start: datetime | None = None, end: datetime | None = None,
                    site: str | None = None) -> list[WaiverRow]:
        """Waivers in force at some moment of [start, end), by id."""
        ...

    def waivers_at(self, at: datetime) -> list[WaiverRow]: ...

    def add_attestation(self, start: datetime, end: datetime, user: str, created_at: datetime, corrects: int | None,
                        snapshot_hash: str, body: bytes, signature: str, ledger_data: dict[str, Any]
                        ) -> tuple[int, int]:
        """Ledger entry `attestation` with `ledger_data`, then the row; (attestation id, ledger seq)."""
        ...

    def attestation(self, attestation_id: int) -> AttestationRow | None: ...

    def attestations(self, *, start: datetime | None = None, end: datetime | None = None) -> list[AttestationRow]:
        """Those whose period overlaps [start, end), by id."""
        ...
