"""Door and machine-room access audit: events, approvals and badges in, violations out.

Pure: the importer (collector/sources/importers/access.py) turns exports into these records; this
module judges them. Times are timezone-aware; working hours are judged in the site's zone.
"""
from __future__ import annotations

import bisect
import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from operator import attrgetter
from zoneinfo import ZoneInfo

VIOLATION_TYPES = ("unapproved_entry", "unescorted_entry", "door_held_open", "unknown_badge",
                   "after_hours_entry", "forced_entry")
ROLES = ("staff", "admin", "visitor", "revoked")


@dataclass(slots=True)
class AccessEvent:
    time: datetime
    door: str
    badge: str
    person: str
    direction: str  # in | out | "" (held_open and forced rows may carry none)
    result: str  # granted | denied | held_open | forced
    duration_s: float | None = None
    line: int = 0
    ts: float = field(init=False)  # epoch seconds: comparing floats is far cheaper than zoned datetimes

    def __post_init__(self) -> None:
        self.ts = self.time.timestamp()


@dataclass(slots=True)
class Approval:
    approval_id: str
    person: str
    door: str  # a door, a room, or "" / "*" for every machine-room door
    start: datetime
    end: datetime
    approved_by: str = ""
    start_ts: float = field(init=False)
    end_ts: float = field(init=False)

    def __post_init__(self) -> None:
        self.start_ts, self.end_ts = self.start.timestamp(), self.end.timestamp()


@dataclass(slots=True)
class Badge:
    badge: str
    person: str
    role: str
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    from_ts: float = field(init=False)
    to_ts: float = field(init=False)

    def __post_init__(self) -> None:
        self.from_ts = self.valid_from.timestamp() if self.valid_from else float("-inf")
        self.to_ts = self.valid_to.timestamp() if self.valid_to else float("inf")

    def valid_at(self, ts: float) -> bool:
        return self.from_ts <= ts <= self.to_ts


@dataclass(frozen=True)
class WorkingHours:
    start: time = time(7, 30)
    end: time = time(21, 30)

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """'07:30-21:30' (an end before the start means the hours run past midnight)."""
        parts = text.replace("–", "-").replace("~", "-").split("-")
        if len(parts) != 2:
            raise ValueError(f"working hours {text!r} must look like 07:30-21:30")
        try:
            start, end = (time.fromisoformat(p.strip().zfill(5)) for p in parts)
        except ValueError:
            raise ValueError(f"working hours {text!r} must look like 07:30-21:30") from None
        return cls(start, end)

    def contains(self, t: time) -> bool:
        if self.start <= self.end:
            return self.start <= t <= self.end
        return t >= self.start or t <= self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass
class AccessPolicy:
    """What the site configuration says about doors, rooms and hours."""

    machine_room_doors: frozenset[str] = frozenset()
    door_rooms: dict[str, str] = field(default_factory=dict)  # door -> room it opens
    hours: WorkingHours = field(default_factory=WorkingHours)
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    escort_window_s: float = 120.0
    max_held_open_s: float = 60.0

    def with_thresholds(self, limits: Mapping[str, float]) -> AccessPolicy:
        """This policy with the thresholds named as the catalog's control parameters (rules/audit_params.py)."""
        return replace(self, max_held_open_s=float(limits.get("max_held_open_s", self.max_held_open_s)),
                       escort_window_s=float(limits.get("escort_window_s", self.escort_window_s)))

    def thresholds(self) -> dict[str, float]:
        return {"max_held_open_s": self.max_held_open_s, "escort_window_s": self.escort_window_s}


@dataclass(slots=True)
class Violation:
    type: str
    time: datetime
    door: str
    badge: str
    person: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"type": self.type, "time": self.time.isoformat(), "door": self.door, "badge": self.badge,
                "person": self.person, "detail": self.detail}


@dataclass
class AuditResult:
    events: int
    violations: list[Violation]
    period_start: datetime | None = None
    period_end: datetime | None = None
    doors: list[str] = field(default_factory=list)
    events_per_door: dict[str, int] = field(default_factory=dict)
    door_rooms: dict[str, str] = field(default_factory=dict)  # from the site file: the room each door opens
    thresholds: dict[str, float] = field(default_factory=dict)  # the limits this audit ran with

    @property
    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(VIOLATION_TYPES, 0)
        for v in self.violations:
            out[v.type] += 1
        return out

    def as_dict(self) -> dict:
        return {"events": self.events, "violations": [v.as_dict() for v in self.violations], "counts": self.counts,
                "thresholds": self.thresholds}


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


_DOOR_SUFFIXES = frozenset({"-door", "_door", " door", "door", "门", "-门", "大门"})


class _Approvals:
    """Approvals indexed by person, answering 'does one cover this person, door and time?'."""

    def __init__(self, approvals: Iterable[Approval], policy: AccessPolicy):
        self.by_person: dict[str, list[Approval]] = defaultdict(list)
        for a in approvals:
            self.by_person[_norm(a.person)].append(a)
        self.policy = policy
        self._names: dict[str, str] = {}

    def _name(self, raw: str) -> str:
        n = self._names.get(raw)
        if n is None:
            n = self._names[raw] = _norm(raw)
        return n

    def covers(self, people: Sequence[str], door: str, ts: float) -> bool:
        room = self.policy.door_rooms.get(door, "")
        for person in people:
            for a in self.by_person.get(self._name(person), ()):
                if a.start_ts <= ts <= a.end_ts and self._door_matches(a.door, door, room):
                    return True
        return False

    def _door_matches(self, approved: str, door: str, room: str) -> bool:
        """The approval names this door, its room, the room the door's name says ('机房' for '机房门',
        'machine-room' for 'machine-room-door'), or every door ('', '*')."""
        a = self._name(approved)
        if a in ("", "*", "all", "any", "全部"):
            return True
        d = self._name(door)
        if a == d or (room != "" and a == self._name(room)):
            return True
        return d.startswith(a) and d[len(a):] in _DOOR_SUFFIXES


_WHY_ZH = {"badge used outside its validity": "卡片不在有效期内", "badge revoked": "卡片已注销",
           "no badge presented": "未出示卡片", "badge not in the badge list": "卡片不在名单中"}


def badge_key(badge: str) -> str:
    """Card numbers as controllers and spreadsheets write them: '0012345' and '12345' are one card
    (Excel drops leading zeros), 'a1b2' and 'A1B2' too."""
    b = badge.strip()
    return (b.lstrip("0") or "0") if b.isdigit() else b.upper()


class _Badges:
    def __init__(self, badges: Iterable[Badge]):
        self.by_id: dict[str, list[Badge]] = defaultdict(list)
        for b in badges:
            self.by_id[badge_key(b.badge)].append(b)
        self.single = {k: v[0] for k, v in self.by_id.items() if len(v) == 1}
        self._keys: dict[str, str] = {}

    def at(self, badge: str, ts: float) -> tuple[Badge | None, str]:
        """The badge record in force at t, or None and why it is not acceptable."""
        key = self._keys.get(badge)
        if key is None:
            key = self._keys[badge] = badge_key(badge)
        badge = key
        one = self.single.get(badge)
        if one is not None:  # the common case: one record per badge
            if not one.valid_at(ts):
                return None, "badge used outside its validity"
            return (None, "badge revoked") if one.role == "revoked" else (one, "")
        rows = self.by_id.get(badge)
        if not badge:
            return None, "no badge presented"
        if not rows:
            return None, "badge not in the badge list"
        current = [b for b in rows if b.valid_at(ts)]
        if not current:
            return None, "badge used outside its validity"
        live = [b for b in current if b.role != "revoked"]
        if not live:
            return None, "badge revoked"
        return live[0], ""


class _LocalClock:
    """Site-local time of day, with the zone's offset looked up once per hour of the log."""

    def __init__(self, zone: ZoneInfo):
        self.zone = zone
        self.offsets: dict[int, float] = {}

    def time_of(self, ts: float) -> time:
        hour = int(ts // 3600)
        off = self.offsets.get(hour)
        if off is None:
            delta = datetime.fromtimestamp(hour * 3600, self.zone).utcoffset()
            off = self.offsets[hour] = delta.total_seconds() if delta else 0.0
        sec = int((ts + off) % 86400)
        return time(sec // 3600, sec // 60 % 60, sec % 60)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Millions of small acyclic records make the cyclic collector rescan them again and again.

    The outermost pause collects first (cheap: little is alive yet), then freezes what was built
    meanwhile, so the collector leaves it alone; reference counting still frees it all later."""
    was = gc.isenabled()
    if was:
        gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.freeze()
            gc.enable()


def audit_access(events: Sequence[AccessEvent], approvals: Iterable[Approval], badges: Iterable[Badge],
                 policy: AccessPolicy) -> AuditResult:
    """Every violation of the site's door and machine-room rules in these events, sorted by time."""
    with gc_paused():
        return _audit(events, approvals, badges, policy)


def _audit(events: Sequence[AccessEvent], approvals: Iterable[Approval], badges: Iterable[Badge],
           policy: AccessPolicy) -> AuditResult:
    ordered = sorted(events, key=attrgetter("ts"))
    badge_book, approval_book = _Badges(badges), _Approvals(approvals, policy)
    admin_entries = _admin_entries(ordered, badge_book, policy)
    clock = _LocalClock(policy.zone)
    out: list[Violation] = []
    for e in ordered:
        if e.result == "forced":
            out.append(Violation("forced_entry", e.time, e.door, e.badge, e.person, "door forced open / 门被强行打开"))
        elif e.result == "held_open":
            if e.duration_s is None:
                out.append(Violation("door_held_open", e.time, e.door, e.badge, e.person,
                                     "door held open, duration not recorded / 门未关，未记录时长"))
            elif e.duration_s > policy.max_held_open_s:
                out.append(Violation("door_held_open", e.time, e.door, e.badge, e.person,
                                     f"door held open {e.duration_s:g} s (limit {policy.max_held_open_s:g} s) / "
                                     f"门开启 {e.duration_s:g} 秒（上限 {policy.max_held_open_s:g} 秒）"))
        elif e.result == "granted":
            _judge_granted(e, badge_book, approval_book, admin_entries, policy, clock, out)
    per_door: dict[str, int] = defaultdict(int)
    for e in ordered:
        per_door[e.door] += 1
    return AuditResult(len(events), out, ordered[0].time if ordered else None, ordered[-1].time if ordered else None,
                       sorted(set(per_door) | policy.machine_room_doors), dict(per_door), dict(policy.door_rooms),
                       policy.thresholds())


def _admin_entries(ordered: Sequence[AccessEvent], badges: _Badges, policy: AccessPolicy) -> dict[str, list[float]]:
    """Per machine-room door, the sorted times (epoch s) at which a valid admin badge entered."""
    out: dict[str, list[float]] = defaultdict(list)
    for e in ordered:
        if e.result == "granted" and e.direction == "in" and e.door in policy.machine_room_doors:
            b, _ = badges.at(e.badge, e.ts)
            if b is not None and b.role == "admin":
                out[e.door].append(e.ts)
    return out


def _judge_granted(e: AccessEvent, badges: _Badges, approvals: _Approvals, admin_entries: dict[str, list[float]],
                   policy: AccessPolicy, clock: _LocalClock, out: list[Violation]) -> None:
    badge, why = badges.at(e.badge, e.ts)
    person = e.person or (badge.person if badge else "")
    if badge is None and (e.badge or e.direction == "in"):  # an exit button needs no badge
        out.append(Violation("unknown_badge", e.time, e.door, e.badge, person,
                             f"granted although {why} / {_WHY_ZH[why]}，仍被放行"))
    if e.direction != "in":
        return
    people = [p for p in dict.fromkeys((e.person, badge.person if badge else "", e.badge)) if p]
    approved: bool | None = None
    if e.door in policy.machine_room_doors:
        approved = approvals.covers(people, e.door, e.ts)
        if not approved:
            out.append(Violation("unapproved_entry", e.time, e.door, e.badge, person,
                                 "machine-room entry without an approval covering person, door and time"
                                 " / 进入机房无对应审批"))
        if (badge is None or badge.role != "admin") and \
                not _escorted(admin_entries.get(e.door, []), e.ts, policy.escort_window_s):
            role = badge.role if badge else "unknown"
            out.append(Violation("unescorted_entry", e.time, e.door, e.badge, person,
                                     f"{role} entered with no admin badge within ±{policy.escort_window_s:g} s / "
                                 f"前后 {policy.escort_window_s:g} 秒内无管理员陪同进入"))
    local = clock.time_of(e.ts)
    if not policy.hours.contains(local):
        if approved is None:
            approved = approvals.covers(people, e.door, e.ts)
        if not approved:
            hours_text = f"{policy.hours.start:%H:%M}-{policy.hours.end:%H:%M}"
            out.append(Violation("after_hours_entry", e.time, e.door, e.badge, person,
                                 f"entry at {local:%H:%M:%S} outside working hours {hours_text} without approval / "
                                 f"{local:%H:%M:%S} 非工作时间（{hours_text}）进入且无审批"))


def _escorted(admin_times: list[float], t: float, window_s: float) -> bool:
    i = bisect.bisect_left(admin_times, t - window_s)
    return i < len(admin_times) and admin_times[i] <= t + window_s
