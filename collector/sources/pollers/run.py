"""The polling loop: every interval, ask every UPS and probe, and ship what they said.

Sinks (agents.shipping.sink): the collector's HTTP API with a source token through a spool on disk (a
separate poller host), or the store directly (pollers inside the collector's machine). A failed
delivery is kept and retried with the next cycle, up to a bound, so a collector restart loses nothing.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from collector.sources.pollers.climate import ClimateTracker
from collector.sources.pollers.config import PollConfig
from collector.sources.pollers.modbus import poll_modbus
from collector.sources.pollers.nut import UpsPoller
from collector.sources.pollers.snmp import poll_snmp
from rules.model import Observation

log = logging.getLogger(__name__)
MAX_PENDING = 50_000


class Sink(Protocol):
    """Where observations go (agents.shipping.sink: HttpSink through a spool, or StoreSink); raising keeps
    them for the next cycle."""

    def send(self, observations: list[Observation]) -> None: ...


class PollLoop:
    def __init__(self, config: PollConfig, sink: Sink, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.config, self.sink = config, sink
        self.ups = UpsPoller([u.target() for u in config.ups], site=config.site, clock=clock,
                             timeout_s=config.timeout_s)
        self.climate = ClimateTracker(site=config.site, clock=clock)
        self.pending: deque[Observation] = deque(maxlen=MAX_PENDING)
        self.snmp_engine: Any = None  # built once: creating an SNMP engine costs more than a poll
        self.cycles = 0

    async def poll(self) -> list[Observation]:
        parts = await asyncio.gather(self.ups.poll_once(), poll_modbus(self.config.modbus, self.climate),
                                     self._snmp())
        out: list[Observation] = []
        for part in parts:
            out.extend(part)
        placed = self.placements()
        for o in out:
            o.site = self.config.site
            o.payload.update(placed.get((o.subject_kind, o.subject_id), {}))
        return out

    def placements(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Payload fields saying which room each UPS and probe serves (and which hosts a UPS powers),
        so alerts carry a room and inhibit only within it. Nothing for those without a room."""
        out: dict[tuple[str, str], dict[str, Any]] = {}
        ups = [(t.subject_id, t.room, list(t.hosts)) for t in self.ups.targets if t.ups != "*"]
        ups += [(t.id, t.room, t.hosts) for t in self.config.snmp if t.kind == "ups"]
        for subject, room, hosts in ups:
            out[("ups", subject)] = ({"room": room} if room else {}) | ({"hosts": hosts} if hosts else {})
        sensors = [(t.id, t.room) for t in self.config.snmp if t.kind == "sensor"]
        for subject, room in sensors + [(p.id, p.room) for p in self.config.modbus]:
            out[("sensor", subject)] = {"room": room} if room else {}
        return out

    async def _snmp(self) -> list[Observation]:
        if not self.config.snmp:
            return []
        if self.snmp_engine is None:
            from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

            self.snmp_engine = SnmpEngine()
        return await poll_snmp(self.config.snmp, self.climate, self.snmp_engine, self.ups.power)

    async def cycle(self) -> list[Observation]:
        observations = await self.poll()
        self.pending.extend(observations)
        batch = list(self.pending)
        try:
            await asyncio.to_thread(self.sink.send, batch)
        except Exception as e:  # noqa: BLE001 - keep polling; delivery is retried next cycle
            log.warning("delivery of %d observations failed, will retry: %s", len(batch), e)
        else:
            self.pending.clear()
        self.cycles += 1
        return observations

    async def run(self, stop: asyncio.Event, cycles: int | None = None) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set() and (cycles is None or self.cycles < cycles):
            started = loop.time()
            await self.cycle()
            wait = max(0.0, self.config.interval_s - (loop.time() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)


