"""An access audit as observations: one `access.audit` per door (docs/observations.md)."""
from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime

from collector.audits.access import VIOLATION_TYPES, AuditResult
from rules.model import Observation

MAX_VIOLATIONS_PER_DOOR = 500
_NS = uuid.UUID("0b8f3f7e-5d0c-4b7e-9d55-3c1a2e8f6a41")
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}$")


def door_subject_id(door: str) -> str:
    """The door's name when it is a valid subject id, else a stable ASCII id (names may be Chinese)."""
    if _SAFE.match(door):
        return door
    return "door-" + hashlib.sha256(door.encode()).hexdigest()[:12]


def door_observations(result: AuditResult, *, site: str, source: str, observed_at: datetime) -> list[Observation]:
    """Per door: how many events, counts by type and the violations (capped), for the period audited."""
    per_door: dict[str, list[dict[str, str]]] = {d: [] for d in result.doors}
    events_per_door = dict.fromkeys(result.doors, 0)
    for violation in result.violations:
        per_door.setdefault(violation.door, []).append(violation.as_dict())
    for door, n in result.events_per_door.items():
        events_per_door[door] = n
    start = (result.period_start or observed_at).isoformat()
    end = (result.period_end or observed_at).isoformat()
    out: list[Observation] = []
    for door, violations in sorted(per_door.items()):
        counts = dict.fromkeys(VIOLATION_TYPES, 0)
        for v in violations:
            counts[v["type"]] += 1
        subject = door_subject_id(door)
        oid = uuid.uuid5(_NS, f"{site}|{subject}|{start}|{end}|{events_per_door.get(door, 0)}|{sorted(counts.items())}"
                              f"|{sorted(result.thresholds.items())}")
        out.append(Observation(
            id=str(oid), source=source, site=site, subject_kind="door", subject_id=subject, kind="access.audit",
            observed_at=observed_at, payload={
                "door": door, "period_start": start, "period_end": end, "events": events_per_door.get(door, 0),
                "counts": counts, "violations": violations[:MAX_VIOLATIONS_PER_DOOR],
                "violations_truncated": len(violations) > MAX_VIOLATIONS_PER_DOOR, "thresholds": result.thresholds}
            | ({"room": result.door_rooms[door]} if result.door_rooms.get(door) else {})))
    return out
