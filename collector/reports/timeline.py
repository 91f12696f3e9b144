"""Finding intervals over a period: each control's status through time, time compliant,
and violations. Pure functions over `Interval`s and waivers; no I/O."""
from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from collector.people.waivers import EXCEPTABLE, Waiver
from collector.posture import worst
from collector.store.base import Interval


@dataclass(frozen=True)
class Piece:
    """A part of one subject's finding history, clipped to the period."""

    control: str
    subject_kind: str
    subject_id: str
    status: str  # as shown: a waived failure is `excepted`
    measured: str  # as measured
    start: datetime
    end: datetime
    interval: Interval

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


NO_DATA = "no_data"  # no subject had a finding yet: neither compliant nor not, shown apart


@dataclass(frozen=True)
class Segment:
    start: datetime
    end: datetime
    status: str


def clip(iv: Interval, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
    s = max(iv.start, start)
    e = min(iv.end or end, end)
    return (s, e) if s < e else None


def pieces(intervals: Sequence[Interval], start: datetime, end: datetime,
           waivers: Sequence[Waiver] = ()) -> list[Piece]:
    """Clip intervals to [start, end) and split failing ones where a waiver turns them `excepted`."""
    out: list[Piece] = []
    for iv in intervals:
        span = clip(iv, start, end)
        if span is None:
            continue
        parts = [(span[0], span[1], iv.status)]
        if iv.status in EXCEPTABLE:
            for w in waivers:
                if w.control != iv.control or w.subject_kind != iv.subject_kind or w.subject_id not in (
                        "*", iv.subject_id):
                    continue
                nxt = []
                for s, e, st in parts:
                    ws, we = max(s, w.starts_at), min(e, w.ends_at)
                    if st == "excepted" or ws >= we:
                        nxt.append((s, e, st))
                        continue
                    nxt += [p for p in ((s, ws, st), (ws, we, "excepted"), (we, e, st)) if p[0] < p[1]]
                parts = nxt
        out += [Piece(iv.control, iv.subject_kind, iv.subject_id, st, iv.status, s, e, iv) for s, e, st in parts]
    return out


def control_timeline(ps: Sequence[Piece], start: datetime, end: datetime) -> list[Segment]:
    """The control's status through the period: the worst of its subjects at each moment,
    `no_data` while no subject has a finding (never a pass; counted apart from compliance)."""
    events: list[tuple[datetime, int, str]] = []
    for p in ps:
        events.append((p.start, 1, p.status))
        events.append((p.end, -1, p.status))
    events.sort(key=lambda e: e[0])
    counts: Counter[str] = Counter()
    segs: list[Segment] = []
    t = start
    i = 0
    while t < end:
        while i < len(events) and events[i][0] <= t:
            counts[events[i][2]] += events[i][1]
            i += 1
        nxt = events[i][0] if i < len(events) else end
        live = [s for s, n in counts.items() if n > 0]
        status = worst(live) if live else NO_DATA
        if segs and segs[-1].status == status:
            segs[-1] = Segment(segs[-1].start, min(nxt, end), status)
        else:
            segs.append(Segment(t, min(nxt, end), status))
        t = nxt
    return segs


def time_by_status(segs: Sequence[Segment]) -> dict[str, float]:
    out: dict[str, float] = {}
    for s in segs:
        out[s.status] = out.get(s.status, 0.0) + (s.end - s.start).total_seconds()
    return out


def pct_compliant(segs: Sequence[Segment]) -> float:
    """Share (in %) of the time with data in which the control passed; not-applicable time and time
    without data are left out (0 when there was no data at all: see `pct_no_data`)."""
    t = time_by_status(segs)
    total = sum(v for k, v in t.items() if k not in ("not_applicable", NO_DATA))
    return round(100.0 * t.get("pass", 0.0) / total, 2) if total else 0.0


def pct_no_data(segs: Sequence[Segment]) -> float:
    """Share of the period (in %) in which no subject of the control had a finding."""
    t = time_by_status(segs)
    total = sum(t.values())
    return round(100.0 * t.get(NO_DATA, 0.0) / total, 2) if total else 100.0


def violations(ps: Sequence[Piece]) -> list[Piece]:
    """Measured failures (waived or not), merged per subject when a waiver split them, longest first."""
    merged: dict[tuple[str, str, datetime], Piece] = {}
    for p in ps:
        if p.measured != "fail":
            continue
        key = (p.subject_kind, p.subject_id, p.interval.start)
        prev = merged.get(key)
        if prev is None:
            merged[key] = Piece(p.control, p.subject_kind, p.subject_id, p.status, p.measured, p.start, p.end,
                                p.interval)
        else:
            merged[key] = Piece(p.control, p.subject_kind, p.subject_id,
                                "fail" if "fail" in (prev.status, p.status) else prev.status, p.measured,
                                min(prev.start, p.start), max(prev.end, p.end), p.interval)
    return sorted(merged.values(), key=lambda p: -p.seconds)


def sample(segs: Sequence[Segment], times: Sequence[datetime]) -> list[str]:
    """The status at each of `times`."""
    if not segs:
        return ["unknown"] * len(times)
    starts = [s.start for s in segs]
    return [segs[max(bisect_right(starts, t) - 1, 0)].status for t in times]
