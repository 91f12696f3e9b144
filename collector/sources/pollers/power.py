"""Switches to battery and back, whichever way the UPS was read (NUT or UPS-MIB)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass
class _PowerState:
    on_battery: bool
    since: datetime


class PowerTracker:
    """Remembers each UPS's power state and turns changes into `ups.event` payloads with durations."""

    def __init__(self) -> None:
        self.states: dict[str, _PowerState] = {}

    def transition(self, ups: str, payload: dict[str, Any], now: datetime) -> dict[str, Any] | None:
        if payload.get("error"):
            return None  # an unreadable UPS tells nothing about mains; keep the last known state
        on_battery = "OB" in (payload.get("flags") or [])
        prev = self.states.get(ups)
        if prev is not None and prev.on_battery == on_battery:
            return None
        self.states[ups] = _PowerState(on_battery, now)
        if prev is None and not on_battery:
            return None  # first sight of a UPS on mains: nothing happened
        # on_line carries how long the UPS carried the load; on_battery starts the clock
        duration = (now - prev.since).total_seconds() if prev is not None and not on_battery else None
        return {"event": "on_battery" if on_battery else "on_line", "at": now.isoformat(), "duration_s": duration,
                "previous_since": prev.since.isoformat() if prev else None,
                "battery_runtime_s": payload.get("battery_runtime_s"),
                "battery_charge_pct": payload.get("battery_charge_pct")}
