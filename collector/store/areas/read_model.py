"""What the pages and reports read: the newest payloads, histories and series of observations, events,
finding counts, host statuses and the terminal search's texts.

SQLite: collector/store/web_reads.py, host_table.py, host_search.py; contract:
tests/collector/store/test_read_model.py (test_host_table.py, test_host_search.py)."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

import orjson

# subject id -> kind (or 'kind:key' when keyed) -> (observed_at, payload), newest of each
Payloads = dict[str, dict[str, tuple[float, dict[str, Any]]]]


def stored_payload(body: bytes) -> dict[str, Any]:
    """The payload of a stored observation's body; empty for a damaged row, which then costs only its own line."""
    try:
        payload = orjson.loads(body).get("payload", {})
    except (orjson.JSONDecodeError, AttributeError):
        return {}
    return payload if isinstance(payload, dict) else {}


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

    def status_span_counts(self, status: str, samples: Sequence[float]) -> list[tuple[str, int, int, int]]:
        """(control, first, stop, how many) of the finding intervals with `status` open at some time from the
        first sample to the last (ascending): each such interval is open at samples[first:stop] (from the first
        sample at or after its start to the last at or before a microsecond before its end), counted in one row."""
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
