"""Pushed access events audited together with the recent ones.

An integration pushes small batches, but what one event means can depend on another push: the
administrator badges in a minute after the visitor, or a held-open alarm comes first without a
duration and again once the door shuts. Each push is kept in the store (`access_pushes`, schema
migration 5) for WINDOW_S, and a push is audited with every event of the window before it, as if
all had come in one export; so a violation also stays on its door's audit for the window instead
of vanishing with the next push.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson

from collector.audits.access import AccessEvent, Approval, Badge, badge_key
from collector.store.base import Store

WINDOW_S = 24 * 3600.0


@dataclass
class Push:
    events: list[AccessEvent]
    approvals: list[Approval]
    badges: list[Badge]
    # the badge list it carries held at least until its newest event (controllers' clock, as events)
    as_of: datetime | None = None
    badge_list_id: str = ""  # SHA-256 of the encoded badge list: pushes mostly repeat the same list

    def span(self, now: datetime) -> tuple[float, float]:
        ts = [e.ts for e in self.events] or [now.timestamp()]
        return min(ts), max(ts)

    def badge_list(self) -> tuple[str, bytes]:
        body = orjson.dumps([[b.badge, b.person, b.role, _iso(b.valid_from), _iso(b.valid_to)] for b in self.badges])
        self.badge_list_id = hashlib.sha256(body).hexdigest()
        return self.badge_list_id, body


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _encode(push: Push) -> bytes:
    """Parsed records with zoned times, so reading them back needs neither the site zone nor a mapping."""
    return orjson.dumps({
        "events": [[e.time.isoformat(), e.door, e.badge, e.person, e.direction, e.result, e.duration_s]
                   for e in push.events],
        "approvals": [[a.approval_id, a.person, a.door, a.start.isoformat(), a.end.isoformat(), a.approved_by]
                      for a in push.approvals]})


def _decode(body: bytes, as_of: datetime, badges: list[Badge], badge_list_id: str) -> Push:
    d: dict[str, Any] = orjson.loads(body)
    return Push([AccessEvent(datetime.fromisoformat(t), door, badge, person, direction, result, duration)
                 for t, door, badge, person, direction, result, duration in d["events"]],
                [Approval(i, person, door, datetime.fromisoformat(s), datetime.fromisoformat(e), by)
                 for i, person, door, s, e, by in d["approvals"]],
                badges, as_of, badge_list_id)


def _decode_badges(body: bytes) -> list[Badge]:
    return [Badge(badge, person, role, _when(f), _when(t)) for badge, person, role, f, t in orjson.loads(body)]


def merge(pushes: Sequence[Push]) -> Push:
    """Oldest push first. An event pushed again (same time, door, badge, direction and result) counts
    once, as last reported (a held-open alarm gets its duration); approvals by id, the newest wins;
    badges see `_BadgeHistory`."""
    events: dict[tuple[float, str, str, str, str], AccessEvent] = {}
    approvals: dict[tuple[str, ...], Approval] = {}
    badges = _BadgeHistory()
    for push in pushes:
        for e in push.events:
            events[(e.ts, e.door, badge_key(e.badge), e.direction, e.result)] = e
        for a in push.approvals:
            approvals[(a.approval_id,) if a.approval_id else (a.person, a.door, str(a.start_ts), str(a.end_ts))] = a
        badges.add(push)
    return Push(list(events.values()), list(approvals.values()), badges.records(), pushes[-1].as_of)


class _BadgeHistory:
    """Each push carries the badge records in force when it was sent. When a badge's records change
    (a revocation, a new role), the old ones hold until the newest event of the last push that still
    listed them and the new ones from then on, so earlier events are judged by the list of their time."""

    def __init__(self) -> None:
        self.closed: list[Badge] = []
        self.current: dict[str, tuple[list[Badge], datetime | None]] = {}  # key -> records, last confirmed
        self.last_list, self.last_keys = "", list[str]()  # the previous push's badge list
        self.last_as_of: datetime | None = None

    def add(self, push: Push) -> None:
        if push.badge_list_id and push.badge_list_id == self.last_list:
            self.last_as_of = push.as_of  # the same list again: all of it confirmed until this push
            return
        self._settle()
        listed: dict[str, list[Badge]] = {}
        for b in push.badges:
            listed.setdefault(badge_key(b.badge), []).append(b)
        for key, rows in listed.items():
            before = self.current.get(key)
            if before is not None and _same(before[0], rows):
                self.current[key] = (before[0], push.as_of)
                continue
            if before is not None and before[1] is not None:
                until = before[1]
                self.closed += [replace(b, valid_to=min(b.valid_to or until, until)) for b in before[0]]
                rows = [replace(b, valid_from=max(b.valid_from or until, until)) for b in rows]
            self.current[key] = (rows, push.as_of)
        self.last_list, self.last_keys, self.last_as_of = push.badge_list_id, list(listed), push.as_of

    def _settle(self) -> None:
        for key in self.last_keys:
            self.current[key] = (self.current[key][0], self.last_as_of)

    def records(self) -> list[Badge]:
        self._settle()
        return self.closed + [b for rows, _ in self.current.values() for b in rows]


def _same(a: list[Badge], b: list[Badge]) -> bool:
    def fields(rows: list[Badge]) -> list[tuple[str, str, float, float]]:
        return sorted((r.person, r.role, r.from_ts, r.to_ts) for r in rows)
    return fields(a) == fields(b)


def recent(store: Store, site: str, since_ts: float) -> list[Push]:
    """Pushes of `site` with events at or after `since_ts`, oldest first."""
    rows, stored = store.access_pushes(site, since_ts)
    lists = {sha: _decode_badges(body) for sha, body in stored.items()}
    return [_decode(body, datetime.fromtimestamp(last, UTC), lists[sha], sha) for body, last, sha in rows]


def remember(store: Store, site: str, push: Push, now: datetime, window_s: float = WINDOW_S) -> None:
    """Keep a push for the audits of the next ones; forget pushes whose events all left the window."""
    first, last = push.span(now)
    sha, badges = push.badge_list()
    store.remember_access_push(site, now.timestamp(), first, last, sha, badges, _encode(push), window_s)


def with_window(store: Store, site: str, push: Push, now: datetime, window_s: float = WINDOW_S) -> Push:
    """This push merged with the stored ones, keeping the events of the window that ends with its
    newest event (and all of its own, however old)."""
    _, last = push.span(now)
    start = last - window_s
    push.badge_list()
    merged = merge([*recent(store, site, start), push])
    own = {id(e) for e in push.events}
    merged.events = [e for e in merged.events if e.ts >= start or id(e) in own]
    return merged
