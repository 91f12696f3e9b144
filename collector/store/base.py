"""The storage interface every backend implements; the contract tests in tests/collector/store run
against each one."""
from __future__ import annotations

from collections.abc import Collection, Container, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from collector.proof.ledger import VerifyReport
from collector.proof.sitekey import SiteKey
from collector.store.areas import (
    AccountStore,
    CompactingStore,
    CoordinationStore,
    Fence,
    LeaseStore,
    LedgerStore,
    PeopleStore,
    ReadModelStore,
    WorkingStateStore,
)
from collector.store.stats import StoreStats
from rules.model import EvidenceRef, Observation

# an observation as stored: id, source, site, subject_kind, subject_id, kind, key, observed_at
# (epoch s), seq, canonical body
ObservationRow = tuple[str, str, str, str, str, str, str, float, int | None, bytes]
Stored = tuple[tuple[str, str, str, str], float, int, bytes, float]


class StoreFull(Exception):
    """The store cannot grow (its disk, or its configured size limit, is full): the write that hit it
    was undone whole; reads go on, and the same write succeeds once there is room again."""


class StoreUnavailable(Exception):
    """The store's database server cannot be reached now (stopped, restarting, connection lost, every
    connection busy): what was under way was undone whole, and the same call succeeds once it is back."""


@dataclass
class IngestResult:
    accepted: int
    duplicates: int
    ledger_seq: int | None  # the batch's number (collector/proof/seal.py), None when nothing was new
    merkle_root: str | None = None
    subjects: set[tuple[str, str]] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)
    # the newest new observation per (subject kind, subject id, kind, key), as that key, its
    # observed_at and rowid, its canonical body and received_at (epoch s): what the engine needs
    newest: list[Stored] = field(default_factory=list)
    derived: list[Observation] = field(default_factory=list)  # added by the store (agents' sequence summaries)


@dataclass
class StoredFinding:
    control: str
    subject_kind: str
    subject_id: str
    site: str
    status: str
    since: datetime
    evaluated_at: datetime
    value: dict[str, Any]
    reason_zh: str
    reason_en: str
    evidence: list[str]
    severity: str


@dataclass
class FindingChange:
    """What the engine asks the store to record for one (control, subject)."""

    finding: StoredFinding
    previous_status: str | None  # None: first finding for this pair
    status_changed: bool


@dataclass
class Interval:
    control: str
    subject_kind: str
    subject_id: str
    site: str
    status: str
    start: datetime
    end: datetime | None
    value: dict[str, Any]
    reason_zh: str
    reason_en: str
    evidence: list[str]


class Store(AccountStore, ReadModelStore, LedgerStore, PeopleStore, WorkingStateStore, CompactingStore,
            CoordinationStore, LeaseStore, Protocol):
    site_key: SiteKey  # signs checkpoints, attestations and bundles
    # how often the interpreter lets another thread in while the engine records findings on a thread of its
    # own (collector/part_recorder.py); None: as it is
    record_switch_s: float | None

    def ingest(self, observations: Sequence[Observation], *, actor: str,
               received_at: datetime | None = None) -> IngestResult: ...

    def ingest_rows(self, rows: Sequence[ObservationRow], *, actor: str,
                    received_at: datetime | None = None) -> IngestResult: ...

    def max_observation_rowid(self) -> int: ...

    def latest_since(self, rowid: int, skip: Container[int] = (), upto: int | None = None
                     ) -> tuple[int, list[Observation]]: ...

    def latest_all(self, subject_kind: str | None = None
                   ) -> dict[tuple[str, str], dict[tuple[str, str], Observation]]: ...

    def latest_for(self, subject_kind: str, subject_id: str) -> dict[tuple[str, str], Observation]: ...

    def observations(self, *, subject_kind: str | None = None, subject_id: str | None = None,
                     kind: str | None = None, since: datetime | None = None, until: datetime | None = None,
                     limit: int = 1000, repeats: bool = False) -> list[Observation]: ...

    def get_observation(self, obs_id: str) -> Observation | None: ...

    def subjects(self, kind: str | None = None) -> list[tuple[str, str, str]]: ...

    def put_evidence(self, data: bytes, name: str, media_type: str) -> EvidenceRef: ...

    def get_evidence(self, sha256: str) -> bytes | None: ...

    def current_findings(self, *, control: str | None = None, subject_kind: str | None = None,
                         subject_id: str | None = None, status: str | None = None,
                         site: str | None = None) -> list[StoredFinding]: ...

    def findings_of(self, subjects: Collection[tuple[str, str]]) -> list[StoredFinding]:
        """The current findings of each (subject kind, subject id)."""
        ...

    def encode_findings(self, changes: Sequence[FindingChange], now: datetime | None = None) -> Any:
        """`changes` as `record_findings` writes them (its `encoded`), made on any thread; with `now` (the
        time they will be recorded at), their ledger entries too, as a guess the write checks."""
        ...

    def record_findings(self, changes: Sequence[FindingChange], now: datetime, *, fence: Fence | None = None,
                        encoded: Any = None) -> int:
        """With a `fence`, recorded only while that lease term runs; else LeaseLost, and nothing recorded.
        `encoded`: `encode_findings(changes)`, if the caller has it already."""
        ...

    def intervals(self, *, control: str | None = None, subject: tuple[str, str] | None = None,
                  start: datetime | None = None, end: datetime | None = None) -> list[Interval]: ...

    def posture_at(self, at: datetime) -> list[Interval]: ...

    def findings_in(self, *, subject_kinds: Sequence[str] | None = None, controls: Sequence[str] | None = None,
                    statuses: Sequence[str] | None = None, with_value: bool = False) -> list[StoredFinding]:
        """Current findings; `value` and `evidence` are left empty unless `with_value` (most pages need neither)."""
        ...

    def ledger_append(self, type_: str, actor: str, data: dict[str, Any], ts: datetime | None = None) -> int: ...

    def checkpoint(self, ts: datetime | None = None) -> dict | None:
        """Sign the ledger's head with the site key; None while the ledger is empty."""
        ...

    def verify_ledger(self, *, observations: bool = True, evidence: bool = True) -> VerifyReport: ...

    def count_observations(self) -> int: ...

    def read_evidence(self, sha256: str) -> bytes | None:
        """Like `get_evidence`, but raises EvidenceAltered for a file that no longer matches its SHA-256."""
        ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def measure_size(self, now: datetime, days: int = 7) -> StoreStats:
        """Bytes on disk by part, growth per day, days until the disk is full."""
        ...

    def close(self) -> None: ...
