"""Which room each subject is in, as its sources say: the room a UPS or probe serves (payload
`room`, from the poller configuration or the push), the room a door opens (from the site file),
and the hosts a UPS powers (payload `hosts`). Alerts carry the room so that a UPS on battery
inhibits only what depends on it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from rules.model import Observation

if TYPE_CHECKING:
    from collector.engine import Engine

Subject = tuple[str, str]
PLACED_KINDS = frozenset({"ups", "sensor", "door"})


def subject_rooms(latest: Mapping[Subject, Mapping[tuple[str, str], Observation]]) -> dict[Subject, str]:
    """(subject kind, id) -> room, from each placed subject's newest observation (so a room taken out
    of the configuration is gone with the next poll). Subjects without a room are left out."""
    rooms: dict[Subject, str] = {}
    for subject in sorted(s for s in latest if s[0] in PLACED_KINDS):
        newest = max(latest[subject].values(), key=lambda o: o.as_of, default=None)
        if newest is None or not (room := str(newest.payload.get("room") or "")):
            continue
        rooms[subject] = room
        for host in newest.payload.get("hosts") or []:
            rooms.setdefault(("host", str(host)), room)
    return rooms


def engine_rooms(engine: Engine) -> dict[Subject, str]:
    """The rooms of the subjects the engine knows now."""
    with engine._lock:
        latest = {s: dict(v) for s, v in engine.latest.items() if s[0] in PLACED_KINDS}
    return subject_rooms(latest)
