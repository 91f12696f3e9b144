"""The store's interface beyond observations and findings, one protocol per area of the product.

`base.Store` is all of them together; each backend implements every method, and the contract tests
in tests/collector/store (one module per area) hold each one to the same behaviour. Times are epoch
seconds where the tables keep them so, datetimes where the callers pass them."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import orjson

if TYPE_CHECKING:  # compaction is built on the SQLite store, which implements these protocols
    from collector.store.compaction import CompactionResult
    from collector.store.retention import RetentionPolicy
    from rules.model import Control

# subject id -> kind (or 'kind:key' when keyed) -> (observed_at, payload), newest of each
Payloads = dict[str, dict[str, tuple[float, dict[str, Any]]]]


def stored_payload(body: bytes) -> dict[str, Any]:
    """The payload of a stored observation's body; empty for a damaged row, which then costs only its own line."""
    try:
        payload = orjson.loads(body).get("payload", {})
    except (orjson.JSONDecodeError, AttributeError):
        return {}
    return payload if isinstance(payload, dict) else {}


# -- accounts, sessions, agents and tokens ------------------------------------------------------------
class HistoryRow(NamedTuple):
    """One stored observation of a page's history, with the repeats that followed it: a fact reported every
    minute and unchanged is one row seen `times` times from `observed_at` until `until`."""

    observed_at: float
    subject_id: str
    kind: str
    obs_id: str
    payload: dict[str, Any]
    until: float  # the newest time it was seen: its last repeat's, or its own
    times: int  # 1 + the repeats of it


class UserRow(NamedTuple):
    name: str
    role: str
    lang: str
    created_at: float
    disabled: bool


class LoginRow(NamedTuple):
    name: str
    role: str
    password_hash: str
    lang: str
    disabled: bool


class SessionRow(NamedTuple):
    user: str
    role: str
    csrf: str
    lang: str
    kind: str  # web | api


class AgentRow(NamedTuple):
    host_id: str
    site: str
    hostname: str | None
    enrolled_at: float
    last_seen: float | None
    revoked: bool


class EnrollSecretRow(NamedTuple):
    id: str
    site: str
    created_at: float
    expires_at: float | None
    uses: int
    revoked: bool


class Enrollment(NamedTuple):
    """What an enrollment attempt came to: no site when the secret is not valid; else the site and,
    when refused, why (recorded in the ledger too)."""

    site: str | None
    refused: str | None = None


# (host already enrolled, (code hash, expires_at) of its re-enrollment code or None) -> why refused, or None
RefusalRule = Callable[[bool, tuple[str, float] | None], str | None]


class AccountStore(Protocol):
    def user_exists(self, name: str) -> bool: ...

    def add_user(self, name: str, role: str, password_hash: str, created_at: float, *, actor: str) -> bool:
        """False (and nothing stored) when the name is taken."""
        ...

    def reset_user(self, name: str, role: str, password_hash: str, *, actor: str) -> bool:
        """New password and role, enabled again; False when there is no such user."""
        ...

    def users(self) -> list[UserRow]: ...

    def login_row(self, name: str) -> LoginRow | None: ...

    def set_password_hash(self, name: str, password_hash: str) -> None: ...

    def set_user_lang(self, name: str, lang: str) -> None: ...

    def set_user_disabled(self, name: str, disabled: bool, *, actor: str) -> bool:
        """Disabling ends the user's sessions; False when there is no such user."""
        ...

    def add_session(self, token_hash: str, user: str, kind: str, csrf: str, created_at: float,
                    expires_at: float) -> None:
        """Also forgets sessions expired by `created_at`."""
        ...

    def end_session(self, token_hash: str) -> None: ...

    def session_of(self, token_hash: str, now: float) -> SessionRow | None:
        """The unexpired session of an enabled user."""
        ...

    def agent_of(self, token_hash: str) -> tuple[str, str] | None:
        """(host id, site) of the agent holding this unrevoked token."""
        ...

    def source_of(self, token_hash: str) -> tuple[str, str, list[str]] | None:
        """(name, site, subject kinds) of the source holding this unrevoked token."""
        ...

    def add_enroll_secret(self, secret_id: str, site: str, secret_hash: str, created_at: float,
                          expires_at: float | None, *, actor: str, rotate: bool) -> None:
        """`rotate` revokes the site's other secrets in the same transaction."""
        ...

    def enroll_secrets(self) -> list[EnrollSecretRow]:
        """Newest first."""
        ...

    def enroll_agent(self, secret_hash: str, host_id: str, hostname: str | None, token_hash: str, now: float, *,
                     code_given: bool, refusal: RefusalRule) -> Enrollment:
        """In one transaction: check the secret, ask `refusal` whether the host may enroll, then
        either record the refusal or store the agent's token (using up its re-enrollment code)."""
        ...

    def issue_reenroll_code(self, host_id: str, code_hash: str, now: float, expires_at: datetime, *,
                            actor: str) -> bool:
        """Replaces an earlier code; False when the host is not enrolled."""
        ...

    def revoke_agent(self, host_id: str, now: float, *, actor: str) -> bool:
        """False when the host has no working token."""
        ...

    def agents(self) -> list[AgentRow]: ...

    def add_source_token(self, name: str, site: str, token_hash: str, subject_kinds: list[str], created_at: float, *,
                         actor: str) -> None:
        """Replaces a token of the same name."""
        ...


# -- what the pages read --------------------------------------------------------------------------------
@dataclass
class Event:
    id: int
    ts: float
    type: str
    control: str | None
    subject_kind: str | None
    subject_id: str | None
    from_status: str | None
    to_status: str | None
    detail: str


@dataclass
class HostStatus:
    control: str
    status: str
    reason_zh: str
    reason_en: str


class ReadModelStore(Protocol):
    def latest_payloads(self, subject_kind: str, kinds: Sequence[str] | None = None, subject_id: str | None = None,
                        subject_ids: Sequence[str] | None = None) -> Payloads: ...

    def last_seen(self, subject_kind: str) -> dict[str, float]: ...

    def payload_history(self, subject_kind: str, kinds: Sequence[str], since: datetime, subject_id: str | None = None,
                        limit: int = 2000) -> list[HistoryRow]:
        """The observations seen since `since` (the current run of an unchanged fact too, however long ago it
        began), newest seen first; a row stands for its repeats of the current run (`until`, `times`)."""
        ...

    def payload_means(self, subject_kind: str, kind: str, fields: Sequence[str], since: datetime,
                      bucket_s: int) -> dict[str, dict[str, list[tuple[float, float]]]]:
        """subject id -> field -> [(bucket start, mean value)]; a value repeated unchanged until now fills
        every bucket from its first report to its last repeat."""
        ...

    def events_dropped(self, subject_kind: str, subject_id: str, kinds: Sequence[str], since: datetime
                       ) -> list[tuple[str, str, int]]:
        """(UTC day, kind, how many) of the events of these kinds compaction dropped, of the days from
        `since` on, newest day first (the events it kept are observations like any other)."""
        ...

    def payload_series(self, kind: str, start: datetime, end: datetime, site: str | None = None
                       ) -> list[tuple[str, float, dict[str, Any]]]:
        """(subject id, observed_at, payload) of one kind in [start, end), oldest first."""
        ...

    def status_spans(self, status: str, ended_after: float, started_by: float
                     ) -> list[tuple[str, float, float | None]]:
        """(control, start, end) of the finding intervals with `status` open at some time in between."""
        ...

    def events(self, since: datetime, *, types: Sequence[str] = ("finding.changed",), limit: int = 200,
               first_only: bool = True, until: datetime | None = None) -> list[Event]:
        """Newest first; `first_only` drops the first finding of a subject (from nothing to something)."""
        ...

    def has_event(self, type_: str, control: str, site: str, detail_like: str) -> bool:
        """Whether an event of this type, control and site has a detail matching the SQL LIKE pattern."""
        ...

    def recent_events(self, type_: str, limit: int) -> list[tuple[float, str | None, str | None, str]]:
        """(ts, control, site, detail) of one type, newest first."""
        ...

    def change_counts(self, since: datetime, until: datetime) -> dict[tuple[str | None, str], int]: ...

    def alert_acks(self) -> list[Event]:
        """Every acknowledgement, oldest first."""
        ...

    def finding_counts(self, at: datetime | None = None) -> list[tuple[str, str, str, int]]:
        """(control, site, status, how many subjects), now or at a past moment."""
        ...

    def open_subjects(self, control: str, subject_kind: str, subject_id: str | None, at: datetime | None = None
                      ) -> list[tuple[str, str, str]]:
        """(site, subject id, status) of failing or unknown findings of `control` (every subject when
        `subject_id` is None), now or at a past moment."""
        ...

    def host_statuses(self, controls: Sequence[str], hosts: Sequence[str] | None = None
                      ) -> tuple[dict[str, dict[str, HostStatus]], dict[str, str]]:
        """host -> control -> status (only `controls`), and host -> worst status of all its findings (`pass`
        for a host with a finding of `controls` and no failing or unknown one); every host, or only `hosts`."""
        ...

    def host_order(self, columns: Mapping[str, Sequence[str]], sort: str, descending: bool
                   ) -> list[tuple[str, str]]:
        """(host, worst status of all its findings as `host_statuses` gives it, `unknown` for a host with none
        of these) of every host seen or judged, ordered by `sort`: `host`, `last_seen` (never seen first, ties
        by host), `status`, or the name of a column of `columns` (worst first by the column's worst status, a
        host without one last, ties by host); `descending` reverses the order, ties of last seen kept by host."""
        ...

    def camera_thumbnails(self) -> dict[str, str]:
        """camera -> SHA-256 of the newest image attached to its current observations."""
        ...

    def evidence_meta(self, sha256: str) -> tuple[str, str] | None:
        """(name, media type) of a stored evidence file."""
        ...

    def batch_sites(self, first_seq: int, last_seq: int) -> list[tuple[int, str]]:
        """(ledger seq, site) of the observations of the batches ledgered between the two."""
        ...

    def refresh_host_search(self, hosts: Sequence[str], kinds: Sequence[str],
                            texts: Callable[[str, dict[str, tuple[float, dict[str, Any]]]], Sequence[str]]) -> int:
        """Make the search texts of those of `hosts` that have none yet and remake those of every host that sent
        a row of `kinds` since the last call: `texts(host, its newest rows of kinds)` gives them, lower-cased.
        Returns how many hosts were (re)made."""
        ...

    def hosts_matching(self, needle: str) -> set[str]:
        """The hosts one of whose search texts holds `needle` (lower-case it as the texts are), as is."""
        ...

    def finding_evidence(self, control: str, subject_ids: Sequence[str]) -> dict[tuple[str, str], list[str]]:
        """(subject kind, subject id) -> the ids of the observations behind the current finding of `control`,
        for the findings of these subjects only."""
        ...


# -- what `ledger verify --deep` recomputes and compares ------------------------------------------------------
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


# -- the ledger's entries and checkpoints -----------------------------------------------------------------
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


# -- leases: one process at a time does a job, another takes over when it stops renewing ----------------------
class Fence(NamedTuple):
    """A lease as one holder took it: a write made under it is refused once anyone else has taken the
    lease since (a new term), however late the write arrives."""

    name: str
    holder: str
    term: int


class LeaseLost(Exception):
    """The write's fence no longer holds: another holder took the lease. Nothing was written."""


class LeaseStore(Protocol):
    def take_lease(self, name: str, holder: str, ttl_s: float) -> int | None:
        """Take or renew the lease `name` for `ttl_s` seconds of the store's clock; the term it is held
        in, or None (nothing changed) while another holder's term runs. A term counts up each time
        the lease is taken anew (free, expired, or from another holder); a renewal keeps it."""
        ...

    def release_lease(self, name: str, holder: str) -> None:
        """End `holder`'s term now, so that another takes the lease without waiting for it to expire."""
        ...

    def lease_of(self, name: str) -> tuple[str, int, float] | None:
        """(holder, term, seconds left; 0 or less once expired) of the lease, None when never taken."""
        ...


# -- people's inputs: waivers and attestations ---------------------------------------------------------------
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


# -- compaction --------------------------------------------------------------------------------------------------
class CompactingStore(Protocol):
    def compact(self, policy: RetentionPolicy, controls: Sequence[Control], now: datetime, *,
                actor: str = "collector", progress: Callable[[str], None] | None = None) -> CompactionResult:
        """Drop the raw observations beyond their window that nothing needs, and the evidence files no kept
        observation names, as of `now`; one ledger entry (none when nothing was dropped). Raises
        CompactionRefused where the store does not verify."""
        ...


# -- working state of sources and outputs ----------------------------------------------------------------------
class AccessPush(NamedTuple):
    body: bytes
    last_ts: float
    badges_sha256: str


class WorkingStateStore(Protocol):
    def access_pushes(self, site: str, since_ts: float) -> tuple[list[AccessPush], dict[str, bytes]]:
        """A site's stored door-access pushes with events at or after `since_ts` (oldest first), and the
        badge lists they name by SHA-256."""
        ...

    def remember_access_push(self, site: str, received_at: float, first_ts: float, last_ts: float,
                             badges_sha256: str, badges: bytes, body: bytes, window_s: float) -> None:
        """Keep a push; forget the site's pushes whose events all ended `window_s` before its newest."""
        ...

    def record_notification(self, at: datetime, receiver: str, group_key: str, status: str,
                            fingerprints: list[str], attempt: int, error: str | None) -> None: ...

    def notifications(self, limit: int, receiver: str | None = None) -> list[tuple[Any, ...]]:
        """(at, receiver, group_key, status, alerts, attempt, ok, error), newest first."""
        ...

    def notifications_since(self, since: datetime, limit: int) -> list[tuple[float, str, bool, str | None, list[str]]]:
        """(at, receiver, ok, error, fingerprints), newest first."""
        ...

    def agent_sequences(self, host: str | None = None) -> list[tuple[str, str]]:
        """(host, stored state) of every agent's received sequence numbers, by host."""
        ...


# -- what collectors sharing one store agree on ------------------------------------------------------------
class NotificationClaim(NamedTuple):
    won: bool  # this sender sends it
    pending_until: float | None = None  # lost to a sender that may still send it: look again after this time


class CoordinationStore(Protocol):
    def login_failures(self, key: str) -> tuple[int, float] | None:
        """(consecutive failures, time of the last) of one sign-in key."""
        ...

    def add_login_failure(self, key: str, now_s: float) -> tuple[int, float]:
        """Count one more failure of `key` and one in the record over all keys, in one statement each
        (collectors counting at once lose none); the key's counts after it."""
        ...

    def clear_login_failures(self, key: str) -> None: ...

    def recent_login_failures(self, since_s: float, limit: int) -> list[float]:
        """Times of the latest `limit` failures over all keys since `since_s`, oldest first."""
        ...

    def forget_login_failures(self, before_s: float) -> None:
        """Forget keys whose last failure, and failure times, older than `before_s`."""
        ...

    def claim_notification(self, receiver: str, group_key: str, state: str, owner: str, now_s: float,
                           expires_s: float, repeat_before_s: float | None = None) -> NotificationClaim:
        """Claim sending `state` of a group to a receiver, atomically. Won when the group's last claimed
        state differs; when the same state was claimed by a sender that neither settled it nor renewed
        it by its `expires_s` (it died), or by `owner` itself and not settled (a retry); or, for a repeat,
        when the last claim was made at or before `repeat_before_s`."""
        ...

    def settle_notification(self, receiver: str, group_key: str, state: str, owner: str, *, done: bool,
                            expires_s: float) -> bool:
        """`done`: sent (or given up); else still `owner`'s to retry until `expires_s`. False when the
        claim is no longer `owner`'s."""
        ...
