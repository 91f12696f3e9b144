"""The calls audit: calling hours, every connected call recorded in full, two matching copies,
recordings kept long enough, and a recorder that keeps recording while calls are made."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta, tzinfo

from agents.pii.mask import mask_number

TYPES = ("outside_hours", "no_recording", "backup_missing", "backup_mismatch", "recording_too_short")


@dataclass(frozen=True, slots=True)
class Call:
    call_id: str
    agent: str
    terminal: str
    number: str
    start: datetime
    duration_s: float
    disposition: str  # suspended, invalid, unreachable, arrears, connected, hung_up

    @property
    def connected(self) -> bool:
        return self.disposition == "connected"


@dataclass(frozen=True, slots=True)
class Recording:
    path: str
    size: int
    mtime: float  # seconds since the epoch


@dataclass
class CallsPolicy:
    day_start: time = time(8, 0)
    day_end: time = time(21, 0)  # a call starting exactly at 21:00 is outside
    min_recorded_ratio: float = 0.8
    retention_years: float = 3.0
    stall_h: float = 2.0
    exceptions: set[str] = field(default_factory=set)  # call ids with a debtor-agreed time

    def with_thresholds(self, limits: Mapping[str, float]) -> CallsPolicy:
        """This policy with the thresholds named as the catalog's control parameters (rules/audit_params.py)."""
        return replace(self, min_recorded_ratio=float(limits.get("min_recorded_ratio", self.min_recorded_ratio)),
                       retention_years=float(limits.get("retention_years", self.retention_years)),
                       stall_h=float(limits.get("max_silence_h", self.stall_h)))

    def thresholds(self) -> dict[str, float]:
        return {"min_recorded_ratio": self.min_recorded_ratio, "retention_years": self.retention_years,
                "max_silence_h": self.stall_h}


@dataclass
class Content:
    """How to look inside recordings; `verify=False` compares names and sizes only."""

    duration_of: Callable[[str], float | None]
    digest_of: Callable[[str], str]
    verify: bool = True


def _iso(ts: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ts, tz).isoformat()


def outside_hours(calls: Iterable[Call], tz: tzinfo, policy: CallsPolicy) -> list[dict]:
    out = []
    for c in calls:
        local = c.start.astimezone(tz)
        t = local.time()
        if (t < policy.day_start or t >= policy.day_end) and c.call_id not in policy.exceptions:
            out.append({"type": "outside_hours", "call_id": c.call_id,
                        "detail": f"started {local:%Y-%m-%d %H:%M:%S} site time ({c.disposition}), agent {c.agent}, "
                                  f"number {mask_number('phone', c.number)}"})
    return out


def recording_checks(calls: Iterable[Call], primary: dict[str, Recording], backup: dict[str, Recording],
                     policy: CallsPolicy, content: Content) -> tuple[list[dict], list[dict]]:
    """Violations of presence, backup and length; and recordings whose length could not be read."""
    out, unreadable = [], []
    for c in calls:
        rec = primary.get(c.call_id)
        if rec is None:
            if c.connected:
                out.append({"type": "no_recording", "call_id": c.call_id,
                            "detail": f"connected {c.duration_s:g} s, agent {c.agent}: "
                                      "no recording in the primary store"})
            continue
        copy = backup.get(c.call_id)
        if copy is None:
            out.append({"type": "backup_missing", "call_id": c.call_id, "detail": f"{rec.path}: no copy in the backup"})
        elif copy.size != rec.size or (content.verify and content.digest_of(rec.path) != content.digest_of(copy.path)):
            out.append({"type": "backup_mismatch", "call_id": c.call_id,
                        "detail": f"{rec.path} and {copy.path} differ (SHA-256)"})
        if content.verify and c.connected and c.duration_s > 0:
            played = content.duration_of(rec.path)
            if played is None:
                unreadable.append({"call_id": c.call_id, "path": rec.path})
            elif played < policy.min_recorded_ratio * c.duration_s:
                out.append({"type": "recording_too_short", "call_id": c.call_id,
                            "detail": f"recording {played:.1f} s for a {c.duration_s:g} s call "
                                      f"({played / c.duration_s:.0%} < {policy.min_recorded_ratio:.0%})"})
    return out, unreadable


def recording_times(store: dict[str, Recording], started: dict[str, float]) -> dict[str, float]:
    """When each recording was made: its call's start when the records know the call, else the file's time
    (copies and restores change file times; the call record does not change)."""
    return {cid: started.get(cid, rec.mtime) for cid, rec in store.items()}


def retention(primary: dict[str, float], backup: dict[str, float], first_call: datetime | None,
              now: datetime, tz: tzinfo, years: float) -> dict:
    """Oldest recording per store; ok when both reach back `years` or to the first call (a day's slack)."""
    required = now - timedelta(days=365.25 * years)
    if first_call is not None and first_call > required:
        required = first_call
    out: dict = {"required_from": required.isoformat(), "first_call": first_call.isoformat() if first_call else None,
                 "retention_years": years}
    ok = True
    for name, store in (("primary", primary), ("backup", backup)):
        oldest = min(store.values(), default=None)
        out[f"{name}_oldest"] = _iso(oldest, tz) if oldest is not None else None
        ok = ok and oldest is not None and oldest <= (required + timedelta(days=1)).timestamp()
    out["ok"] = ok if first_call is not None or primary else None
    return out


def recorder_health(calls: Iterable[Call], primary: dict[str, float], tz: tzinfo, stall_h: float) -> dict:
    """Periods of `stall_h` hours with connected calls but not one recording: the recorder stalled."""
    period_s = stall_h * 3600
    calls_in: dict[int, int] = defaultdict(int)
    recorded_in: dict[int, int] = defaultdict(int)
    for c in calls:
        if c.connected:
            slot = int(c.start.timestamp() // period_s)
            calls_in[slot] += 1
            if c.call_id in primary:
                recorded_in[slot] += 1
    stalled = [{"start": _iso(s * period_s, tz), "end": _iso((s + 1) * period_s, tz), "calls": n}
               for s, n in sorted(calls_in.items()) if not recorded_in.get(s)]
    last = max(primary.values(), default=None)
    return {"last_recording": _iso(last, tz) if last is not None else None, "stall_h": stall_h,
            "stalled_periods": stalled}


def audit_calls(calls: list[Call], primary: dict[str, Recording], backup: dict[str, Recording], *, tz: tzinfo,
                now: datetime, policy: CallsPolicy, content: Content, first_call: datetime | None = None) -> dict:
    """The whole calls audit as the JSON `audit calls` prints (and `calls.audit` carries, without the list)."""
    violations = outside_hours(calls, tz, policy)
    found, unreadable = recording_checks(calls, primary, backup, policy, content)
    violations += found
    counts = dict.fromkeys(TYPES, 0)
    for v in violations:
        counts[v["type"]] += 1
    starts = [c.start for c in calls]
    first = min([*starts, *([first_call] if first_call else [])], default=None)
    started = {c.call_id: c.start.timestamp() for c in calls}
    made = {name: recording_times(store, started) for name, store in (("primary", primary), ("backup", backup))}
    return {"period_start": min(starts).isoformat() if starts else None,
            "period_end": max(starts).isoformat() if starts else None, "calls": len(calls),
            "connected": sum(1 for c in calls if c.connected), "violations": violations, "counts": counts,
            "retention": retention(made["primary"], made["backup"], first, now, tz, policy.retention_years),
            "recorder": recorder_health(calls, made["primary"], tz, policy.stall_h),
            "recordings": {"primary": len(primary), "backup": len(backup)}, "unreadable": unreadable,
            "thresholds": policy.thresholds()}
