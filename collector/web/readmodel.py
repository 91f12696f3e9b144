"""What the pages show, from the store's read models (collector/store/web_reads.py), with the
waivers laid over it."""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from collector.people import waivers
from collector.store.areas import Event, HistoryRow, HostStatus, Payloads
from collector.store.base import Store, StoredFinding


def number(value: Any) -> float | None:
    """A payload value as a number, or None: sources in the field send strings, nulls and worse."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def total(counts: Any) -> int:
    """The sum of a {name: count} payload field, ignoring what is not a number."""
    if not isinstance(counts, dict):
        return 0
    return int(sum(n for n in (number(v) for v in counts.values()) if n is not None))


def latest_payloads(store: Store, subject_kind: str, kinds: Sequence[str] | None = None,
                    subject_id: str | None = None, subject_ids: Sequence[str] | None = None) -> Payloads:
    """subject id -> kind (or 'kind:key' when keyed) -> (observed_at, payload), newest of each."""
    return store.latest_payloads(subject_kind, kinds, subject_id, subject_ids)


def last_seen(store: Store, subject_kind: str) -> dict[str, float]:
    return store.last_seen(subject_kind)


def history(store: Store, subject_kind: str, kinds: Sequence[str], since: datetime,
            subject_id: str | None = None, limit: int = 2000) -> list[HistoryRow]:
    """The observations seen since `since`, each with the repeats of it that followed, newest seen first."""
    return store.payload_history(subject_kind, kinds, since, subject_id, limit)


def series(store: Store, subject_kind: str, kind: str, fields: Sequence[str], since: datetime,
           bucket_s: int) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """subject id -> field -> [(bucket start, mean value)], averaged by the store so a busy sensor stays cheap."""
    return store.payload_means(subject_kind, kind, fields, since, bucket_s)


def trend(store: Store, now: datetime, days: int = 30, status: str = "fail") -> dict[str, list[int]]:
    """control -> subjects with `status` at the end of each of the last `days` days (oldest first)."""
    samples = [(now - timedelta(days=days - 1 - i)).timestamp() for i in range(days)]
    steps: dict[str, list[int]] = {}
    for control, first, stop, n in store.status_span_counts(status, samples):
        step = steps.setdefault(control, [0] * (days + 1))
        if first < stop:  # a count up on the first sample of its spans, down after the last
            step[first] += n
            step[stop] -= n
    return {control: list(accumulate(step[:days])) for control, step in steps.items()}


def events(store: Store, since: datetime, *, types: Iterable[str] = ("finding.changed",),
           limit: int = 200, first_only: bool = True, until: datetime | None = None) -> list[Event]:
    """Events newest first; `first_only` drops the first finding of a subject (from nothing to something)."""
    return store.events(since, types=list(types), limit=limit, first_only=first_only, until=until)


def change_counts(store: Store, since: datetime, until: datetime) -> dict[tuple[str | None, str], int]:
    """(from status, to status) -> how many findings changed that way between `since` and `until`."""
    return store.change_counts(since, until)


def acks(store: Store) -> dict[tuple[str, str, str], Event]:
    """The newest acknowledgement of each (control, subject kind, subject id)."""
    return {(e.control or "", e.subject_kind or "", e.subject_id or ""): e for e in store.alert_acks()}


def findings(store: Store, *, subject_kinds: Iterable[str] | None = None,
             controls: Iterable[str] | None = None, statuses: Iterable[str] | None = None,
             with_value: bool = False) -> list[StoredFinding]:
    """Current findings straight from the store: a page never waits for an evaluation in progress.

    `value` and `evidence` are parsed only `with_value` (else left empty): most pages need neither."""
    return store.findings_in(subject_kinds=None if subject_kinds is None else list(subject_kinds),
                             controls=None if controls is None else list(controls),
                             statuses=None if statuses is None else list(statuses), with_value=with_value)


def finding_counts(store: Store, at: datetime | None = None) -> list[tuple[str, str, str, int]]:
    """(control, site, status, how many subjects), now or at a past moment (from the findings history)."""
    return store.finding_counts(at)


def host_statuses(store: Store, controls: Sequence[str], hosts: Sequence[str] | None = None) -> tuple[
        dict[str, dict[str, HostStatus]], dict[str, str]]:
    """For the terminal table: host -> control -> status (only `controls`), and host -> worst status of all;
    every host, or only `hosts`."""
    return store.host_statuses(controls, hosts)


# what each fact of a terminal comes from; the lingering-data matches are not searched nor sorted by
NAMING_KINDS = ("agent.heartbeat", "host.identity")
FACT_KINDS = (*NAMING_KINDS, "pii.scan")


def host_facts(store: Store, hosts: Sequence[str] | None = None, kinds: Sequence[str] = FACT_KINDS
               ) -> dict[str, dict[str, Any]]:
    """host -> agent version, host name, addresses and lingering-data matches from its newest reports
    (of `kinds` only)."""
    latest = latest_payloads(store, "host", kinds, subject_ids=hosts)
    return defaultdict(dict, {host: facts_of(rows) for host, rows in latest.items()})


def facts_of(latest: dict[str, tuple[float, dict[str, Any]]]) -> dict[str, Any]:
    """One host's facts (as `host_facts`) from its newest reports: kind (or 'kind:key') -> (time, payload)."""
    facts: dict[str, Any] = {}
    for kind, (_, p) in latest.items():
        if kind == "agent.heartbeat":
            facts["version"] = p.get("version") or facts.get("version")
        elif kind == "host.identity":
            found = p.get("addresses")
            facts.update(hostname=p.get("hostname"), addresses=", ".join(map(str, found)) if isinstance(found, list)
                         else str(found or ""))
            facts["version"] = facts.get("version") or p.get("agent_version")
        else:
            facts["lingering_hits"] = total(p.get("totals"))
    return facts


def waived_counts(store: Store, counts: list[tuple[str, str, str, int]], at: datetime | None = None
                  ) -> list[tuple[str, str, str, int]]:
    """`finding_counts` with failing or unknown subjects under a running waiver counted as `excepted`
    (the overlay of collector.posture: a waived failure never shows as a pass)."""
    moment = at or datetime.now(UTC)
    active = waivers.active_at(store, moment)
    if not active:
        return counts
    covered: set[tuple[str, str, str, str]] = set()
    for w in active:
        one = None if w.subject_id == "*" else w.subject_id
        covered.update((w.control, site, sid, st) for site, sid, st in
                       store.open_subjects(w.control, w.subject_kind, one, at))
    moved = Counter((control, site, st) for control, site, _, st in covered)
    out: Counter[tuple[str, str, str]] = Counter({(c, s, st): n for c, s, st, n in counts})
    for (control, site, st), n in moved.items():
        out[(control, site, st)] -= n
        out[(control, site, "excepted")] += n
    return [(c, s, st, n) for (c, s, st), n in out.items() if n > 0]


def waive(store: Store, found: Sequence[StoredFinding], at: datetime | None = None) -> list[StoredFinding]:
    """Findings with the status to show: `excepted` where a running waiver covers a failing or unknown one."""
    moment = at or datetime.now(UTC)
    active = waivers.active_at(store, moment)
    out = []
    for f in found:  # a copy only of the few a waiver changes: a control's page holds thousands
        shown = waivers.overlay(f.status, f.control, f.subject_kind, f.subject_id, moment, active)
        out.append(f if shown == f.status else replace(f, status=shown))
    return out
