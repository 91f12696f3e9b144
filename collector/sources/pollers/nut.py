"""UPS poller over NUT: `ups.status` observations, and `ups.event` on every switch to battery and back.

A UPS whose driver is gone or whose data is stale yields an observation carrying `error`
(the check turns it `unknown`, which alerts): silence is never a pass.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from collector.sources.pollers.nut_client import DEFAULT_PORT, NutClient, NutError
from collector.sources.pollers.power import PowerTracker
from rules.model import Observation

_TEST_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y", "%m/%d/%y")


@dataclass(frozen=True)
class UpsTarget:
    """One UPS on one upsd; `subject` is its id in clausewatch (default: the NUT name).

    `ups: "*"` stands for every UPS the server lists; `subject` is then a prefix for their ids."""

    ups: str
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    subject: str = ""
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    room: str = ""  # the room it powers, for alert inhibition
    hosts: tuple[str, ...] = ()  # agents' host ids it powers

    @property
    def subject_id(self) -> str:
        return self.subject or self.ups


def _number(v: str | None) -> float | None:
    try:
        return float(v) if v not in (None, "") else None
    except ValueError:
        return None


def test_date_iso(raw: str | None, zone: ZoneInfo) -> str | None:
    """ups.test.date as drivers write it (2026-11-20, 11/20/2026...) -> ISO 8601 with offset."""
    if not raw:
        return None
    text = raw.strip()
    try:
        t = datetime.fromisoformat(text)
        return (t if t.tzinfo else t.replace(tzinfo=zone)).isoformat()
    except ValueError:
        pass
    for fmt in _TEST_DATE_FORMATS:
        try:
            d = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        return datetime.combine(d, datetime.min.time(), zone).isoformat()
    return None


def status_payload(variables: dict[str, str], zone: ZoneInfo) -> dict[str, Any]:
    """NUT variables -> the `ups.status` payload of docs/observations.md."""
    status = variables.get("ups.status", "")
    return {"status": status, "flags": status.split(), "battery_runtime_s": _number(variables.get("battery.runtime")),
            "battery_charge_pct": _number(variables.get("battery.charge")),
            "ups_load_pct": _number(variables.get("ups.load")), "test_result": variables.get("ups.test.result"),
            "test_date": test_date_iso(variables.get("ups.test.date"), zone),
            "test_date_raw": variables.get("ups.test.date"), "error": None}


def error_payload(code: str) -> dict[str, Any]:
    return {"status": None, "flags": [], "battery_runtime_s": None, "battery_charge_pct": None,
            "ups_load_pct": None, "test_result": None, "test_date": None, "error": code}


class UpsPoller:
    """Polls UPSes, remembering each one's power state to report transitions with durations."""

    def __init__(self, targets: list[UpsTarget], *, site: str = "default", source: str = "nut-poller",
                 zone: ZoneInfo | None = None, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 timeout_s: float = 5.0):
        self.targets, self.site, self.source = targets, site, source
        self.zone = zone or ZoneInfo("Asia/Shanghai")
        self.clock, self.timeout_s = clock, timeout_s
        self.power = PowerTracker()

    async def discover(self) -> None:
        """Replace each target named '*' by every UPS its upsd lists (LIST UPS); an unreachable
        server stays as '*' and is tried again next time."""
        out: list[UpsTarget] = []
        for t in self.targets:
            if t.ups != "*":
                out.append(t)
                continue
            try:
                async with NutClient(t.host, t.port, timeout_s=self.timeout_s) as client:
                    names = await client.list_ups()
            except NutError:
                out.append(t)
                continue
            prefix = t.subject
            out.extend(replace(t, ups=name, subject=f"{prefix}{name}" if prefix else "") for name in sorted(names))
        self.targets = out

    async def read(self, target: UpsTarget) -> dict[str, Any]:
        client = NutClient(target.host, target.port, username=target.username, password=target.password,
                           timeout_s=self.timeout_s)
        try:
            async with client:
                await client.login(target.ups)
                variables = await client.list_var(target.ups)
        except NutError as e:
            return error_payload(e.code)
        return status_payload(variables, self.zone)

    async def poll_once(self) -> list[Observation]:
        if any(t.ups == "*" for t in self.targets):
            await self.discover()
        payloads = await asyncio.gather(*(self.read(t) for t in self.targets))
        now = self.clock()
        out: list[Observation] = []
        for target, payload in zip(self.targets, payloads, strict=True):
            out.append(self._obs(target, "ups.status", payload, now))
            event = self.power.transition(target.subject_id, payload, now)
            if event is not None:
                out.append(self._obs(target, "ups.event", event, now))
        return out

    def _obs(self, target: UpsTarget, kind: str, payload: dict[str, Any], now: datetime) -> Observation:
        return Observation(source=self.source, site=self.site, subject_kind="ups", subject_id=target.subject_id,
                           kind=kind, observed_at=now, payload=payload)

