"""The egress canary: a listener outside the terminals' permitted zone that records who got through.

Every accepted TCP connection is a hit: the terminal at the source address could reach a place
it must not (an SMTP relay, the internet). The record stands even if that terminal's agent was
stopped. SMTP ports get a greeting, so a mail client sees a server and really tries.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from agents.observation import AgentObservation

log = logging.getLogger(__name__)
SMTP_PORTS = (25, 465, 587, 2525)


@dataclass(frozen=True)
class Hit:
    listen: str  # address:port of the canary that was reached
    port: int
    source_address: str
    source_port: int
    at: datetime

    def as_dict(self) -> dict:
        return {**asdict(self), "at": self.at.isoformat()}

    def observation(self, canary: str, site: str = "default") -> AgentObservation:
        # key per source and port: the collector keeps the latest hit of each terminal on each canary port
        return AgentObservation(source=f"canary:{canary}", site=site, subject_kind="canary", subject_id=canary,
                           kind="canary.hit", key=f"{self.source_address}->{self.port}", observed_at=self.at,
                           payload=self.as_dict())


@dataclass
class Tally:
    """Hits of the last `window_s`: every status repeats them, so one hit fails the control for a whole
    window instead of one interval, and the status is sent even when there were none."""

    window_s: float = 86400.0
    hits: list[Hit] = field(default_factory=list)

    def add(self, hit: Hit) -> None:
        self.hits.append(hit)

    def status(self, canary: str, listening: list[str], interval_s: float, now: datetime,
               site: str = "default") -> AgentObservation:
        self.hits = [h for h in self.hits if (now - h.at).total_seconds() <= self.window_s]
        hits = self.hits
        return AgentObservation(source=f"canary:{canary}", site=site, subject_kind="canary", subject_id=canary,
                           kind="canary.status", observed_at=now, payload={
                               "listening": listening, "interval_s": interval_s, "window_s": self.window_s,
                               "hit_count": len(hits), "sources": sorted({h.source_address for h in hits}),
                               "hits": [h.as_dict() for h in hits[-100:]]})


def parse_listen(text: str) -> tuple[str, int]:
    """'ADDR:PORT' or '[v6]:PORT' -> (addr, port); ValueError names the expected form."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535 or not host:
        raise ValueError(f"{text!r}: expected ADDR:PORT, e.g. 0.0.0.0:25 or [::]:443")
    return host.strip("[]"), int(port)


class Canary:
    def __init__(self, listens: list[tuple[str, int]], on_hit: Callable[[Hit], None],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.listens, self.on_hit, self.clock = listens, on_hit, clock
        self.bound: list[tuple[str, int]] = []
        self._servers: list[asyncio.Server] = []

    async def start(self) -> None:
        for host, port in self.listens:
            server = await asyncio.start_server(self._handle, host, port)
            self._servers.append(server)
            for sock in server.sockets:
                addr = sock.getsockname()
                self.bound.append((addr[0], addr[1]))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        local = writer.get_extra_info("sockname")
        peer = writer.get_extra_info("peername")
        hit = Hit(f"{local[0]}:{local[1]}", local[1], peer[0].removeprefix("::ffff:"), peer[1], self.clock())
        try:
            self.on_hit(hit)
        except Exception:  # recording must never stop the listener
            log.exception("recording a canary hit")
        try:
            if local[1] in SMTP_PORTS:
                writer.write(b"220 canary.invalid ESMTP clausewatch egress canary\r\n")
                await writer.drain()
            writer.close()
            await writer.wait_closed()
        except OSError:
            pass

    async def serve(self, stop: asyncio.Event) -> None:
        await stop.wait()
        for s in self._servers:
            s.close()
            await s.wait_closed()
