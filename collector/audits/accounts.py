"""The accounts audit: one person per account, no generic accounts at work, no activity after
departure, logins in working hours, no bulk export, and an audit trail without holes."""
from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo

TYPES = ("shared_account", "generic_account", "departed_user_active", "after_hours_login", "bulk_export", "log_gap")
GENERIC = re.compile(r"^(?:sys|super)?(?:admin(?:istrator)?|root|sa|sys(?:tem)?|test(?:er)?|guest|demo|temp|tmp|"
                     r"user|operator|public|shared|default|support|service|测试|管理员|临时|公共|访客|共用)"
                     r"(?:[-_.]?(?:user|account|acct|\d+))*$", re.I)


@dataclass(frozen=True, slots=True)
class User:
    account: str
    name: str
    end_date: date | None


@dataclass(frozen=True, slots=True)
class Event:
    time: datetime
    account: str
    terminal: str
    action: str  # login, logout, export, or the system's own word for other operations
    records: int


@dataclass
class AccountsPolicy:
    day_start: time = time(8, 0)
    day_end: time = time(21, 0)
    session_idle_min: float = 30.0  # a session without logout ends this long after its last event
    export_limit: int = 1000  # records exported by one account within the window
    export_window_min: float = 60.0
    max_gap_h: float = 2.0  # working hours without any log entry

    def with_thresholds(self, limits: Mapping[str, float]) -> AccountsPolicy:
        """This policy with the thresholds named as the catalog's control parameters (rules/audit_params.py)."""
        return replace(self, export_limit=int(limits.get("export_limit", self.export_limit)),
                       export_window_min=float(limits.get("export_window_min", self.export_window_min)),
                       max_gap_h=float(limits.get("max_gap_h", self.max_gap_h)),
                       session_idle_min=float(limits.get("session_idle_min", self.session_idle_min)))

    def thresholds(self) -> dict[str, float]:
        return {"export_limit": self.export_limit, "export_window_min": self.export_window_min,
                "max_gap_h": self.max_gap_h, "session_idle_min": self.session_idle_min}


def _v(type_: str, account: str, detail: str) -> dict:
    return {"type": type_, "account": account, "detail": detail}


MAX_SESSION = timedelta(hours=14)


Span = tuple[datetime, datetime, str, bool]  # start, end, terminal, closed by a logout


def sessions(events: list[Event], idle: timedelta) -> dict[str, list[Span]]:
    """Per account: its sessions. A login runs to its logout (within 14 h); activity without one
    ends `idle` after its last event."""
    open_: dict[tuple[str, str], tuple[datetime, datetime, bool]] = {}  # start, last event, began with login
    out: dict[str, list[Span]] = defaultdict(list)
    for e in events:
        if not e.terminal:  # an operation logged without its terminal belongs to whichever session is open
            continue
        key = (e.account, e.terminal)
        cur = open_.pop(key, None)
        if cur is not None:
            start, last, logged_in = cur
            if e.action == "logout" and (logged_in and e.time - start <= MAX_SESSION or e.time - last <= idle):
                out[e.account].append((start, e.time, e.terminal, True))
                continue
            if e.action == "login" or e.time - last > idle and not (logged_in and e.time - start <= MAX_SESSION):
                out[e.account].append((start, last + idle, e.terminal, False))
            else:
                open_[key] = (start, e.time, logged_in)
                continue
        if e.action != "logout":
            open_[key] = (e.time, e.time, e.action == "login")
    for (account, terminal), (start, last, _) in open_.items():
        out[account].append((start, last + idle, terminal, False))
    return out


def shared_accounts(events: list[Event], policy: AccountsPolicy, tz: tzinfo) -> list[dict]:
    out = []
    for account, spans in sessions(events, timedelta(minutes=policy.session_idle_min)).items():
        spans.sort()
        for i, (_s1, e1, t1, _) in enumerate(spans):
            clash = next(((s2, t2) for s2, _, t2, _ in spans[i + 1:] if s2 < e1 and t2 != t1), None)
            if clash:
                out.append(_v("shared_account", account, f"active on {t1} and {clash[1]} at once "
                                                          f"({clash[0].astimezone(tz):%Y-%m-%d %H:%M} site time)"))
                break
    return out


def bulk_exports(events: list[Event], policy: AccountsPolicy, tz: tzinfo) -> list[dict]:
    window = timedelta(minutes=policy.export_window_min)
    recent: dict[str, deque[Event]] = defaultdict(deque)
    flagged_until: dict[str, datetime] = {}
    out = []
    for e in events:
        if e.action != "export":
            continue
        q = recent[e.account]
        q.append(e)
        while q and e.time - q[0].time > window:
            q.popleft()
        total = sum(x.records for x in q)
        if total > policy.export_limit and e.time >= flagged_until.get(e.account, e.time - window):
            out.append(_v("bulk_export", e.account, f"{total} records exported within {policy.export_window_min:g} "
                                                     f"min up to {e.time.astimezone(tz):%Y-%m-%d %H:%M} site time"))
            flagged_until[e.account] = e.time + window
            q.clear()
    return out


def _working_seconds(a: datetime, b: datetime, policy: AccountsPolicy, tz: tzinfo) -> tuple[float, datetime]:
    """Seconds of working hours between a and b, and where the longest stretch begins."""
    total, best, best_start = 0.0, 0.0, a
    day = a.astimezone(tz).date()
    while datetime.combine(day, time(0), tz) < b:
        start = max(a, datetime.combine(day, policy.day_start, tz))
        end = min(b, datetime.combine(day, policy.day_end, tz))
        if end > start:
            span = (end - start).total_seconds()
            total += span
            if span > best:
                best, best_start = span, start
        day += timedelta(days=1)
    return best, best_start


def log_gaps(events: list[Event], policy: AccountsPolicy, tz: tzinfo) -> list[dict]:
    """Working hours without a log entry, unless someone was logged in (login to logout) all along:
    a log of sessions is quiet between them."""
    spans = [(s, e) for per in sessions(events, timedelta(minutes=policy.session_idle_min)).values()
             for s, e, _, closed in per if closed]
    out = []
    for prev, nxt in zip(events, events[1:], strict=False):
        if (nxt.time - prev.time).total_seconds() <= policy.max_gap_h * 3600:
            continue
        if any(s <= prev.time and e >= nxt.time for s, e in spans):
            continue
        longest, start = _working_seconds(prev.time, nxt.time, policy, tz)
        if longest > policy.max_gap_h * 3600:
            out.append(_v("log_gap", "*", f"no log entry for {longest / 3600:.1f} working hours from "
                                          f"{start.astimezone(tz):%Y-%m-%d %H:%M} site time"))
    return out


def _left(user: User) -> str:
    return "(status: departed)" if user.end_date == date.min else f"on {user.end_date}"


def audit_accounts(users: dict[str, User], events: list[Event], *, tz: tzinfo, policy: AccountsPolicy) -> dict:
    """The whole accounts audit as `audit accounts` prints it (and `accounts.audit` carries, without the list)."""
    violations = shared_accounts(events, policy, tz)
    first_use: dict[str, Event] = {}
    departed: dict[str, Event] = {}
    for e in events:
        first_use.setdefault(e.account, e)
        user = users.get(e.account)
        local = e.time.astimezone(tz)
        if user and user.end_date and local.date() > user.end_date:
            departed.setdefault(e.account, e)
        t = local.time()
        if e.action == "login" and (t < policy.day_start or t >= policy.day_end):
            violations.append(_v("after_hours_login", e.account, f"login at {local:%Y-%m-%d %H:%M} site time"
                                                                 f" on {e.terminal or 'unknown terminal'}"))
    violations += [_v("generic_account", a, f"generic account used ({e.action} on {e.terminal or '?'} at "
                                            f"{e.time.astimezone(tz):%Y-%m-%d %H:%M})")
                   for a, e in first_use.items() if GENERIC.match(a)]
    violations += [_v("departed_user_active", a, f"{e.action} at {e.time.astimezone(tz):%Y-%m-%d %H:%M} after "
                                                 f"leaving {_left(users[a])}") for a, e in departed.items()]
    violations += bulk_exports(events, policy, tz) + log_gaps(events, policy, tz)
    counts = dict.fromkeys(TYPES, 0)
    for v in violations:
        counts[v["type"]] += 1
    return {"period_start": events[0].time.isoformat() if events else None,
            "period_end": events[-1].time.isoformat() if events else None, "events": len(events),
            "users": len(users), "unknown_accounts": sorted({e.account for e in events} - set(users)),
            "violations": violations, "counts": counts, "thresholds": policy.thresholds()}
