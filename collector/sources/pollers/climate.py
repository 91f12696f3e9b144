"""Climate readings as observations: dew point and rate of change, whatever the transport.

Modbus, SNMP and the push endpoint all hand raw temperature and humidity to ClimateTracker,
which remembers the last hour per sensor to report the rate of change per hour.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from rules.model import Observation
from rules.physics import dew_point_c

RATE_WINDOW = timedelta(hours=1)
MIN_RATE_SPAN = timedelta(minutes=15)  # shorter spans turn sensor noise into alarming rates


class ClimateTracker:
    def __init__(self, *, site: str = "default", source: str = "climate-poller",
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.site, self.source, self.clock = site, source, clock
        self.history: dict[str, deque[tuple[datetime, float]]] = {}

    def rate_c_per_h(self, sensor: str, at: datetime, temperature_c: float) -> float | None:
        h = self.history.setdefault(sensor, deque())
        while h and at - h[0][0] > RATE_WINDOW:
            h.popleft()
        rate = None
        if h and at - h[0][0] >= MIN_RATE_SPAN:
            then, t0 = h[0]
            rate = round((temperature_c - t0) / ((at - then).total_seconds() / 3600), 2)
        if not h or at > h[-1][0]:
            h.append((at, temperature_c))
        return rate

    def reading(self, sensor: str, temperature_c: float, humidity_pct: float, *, probe: str = "",
                at: datetime | None = None, transport: str = "") -> Observation:
        at = at or self.clock()
        payload: dict[str, Any] = {
            "temperature_c": round(temperature_c, 2), "humidity_pct": round(humidity_pct, 1),
            "dew_point_c": round(dew_point_c(temperature_c, humidity_pct), 2),
            "rate_c_per_h": self.rate_c_per_h(sensor, at, temperature_c), "probe": probe, "transport": transport,
            "error": None}
        return self._obs(sensor, payload, at)

    def failure(self, sensor: str, error: str, *, probe: str = "", transport: str = "") -> Observation:
        """A probe that did not answer: an observation the check judges unknown."""
        return self._obs(sensor, {"error": error, "probe": probe, "transport": transport}, self.clock())

    def _obs(self, sensor: str, payload: dict[str, Any], at: datetime) -> Observation:
        return Observation(source=self.source, site=self.site, subject_kind="sensor", subject_id=sensor,
                           kind="climate.reading", observed_at=at, payload=payload)
