"""Every simulated source by name, and the site's snapshot: what all of them observe at one time."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from collector.demo import facility, hosts, lifecycle, video
from collector.demo.site import SimSite
from rules.model import Observation

SourceFn = Callable[[SimSite, datetime], list[Observation]]
SOURCES: dict[str, SourceFn] = {
    "ups": facility.ups, "climate": facility.climate, "doors": facility.doors,
    "hosts": hosts.hosts, "canary": hosts.canary,
    "batches": lifecycle.batches, "scans": lifecycle.scans, "calls": lifecycle.calls,
    "accounts": lifecycle.accounts, "manual": lifecycle.manual, "backups": lifecycle.backups,
    "cameras": video.cameras,
}


def snapshot(site: SimSite, t: datetime, sources: list[str] | None = None) -> list[Observation]:
    """What the named sources (all by default) observe at `t`."""
    out: list[Observation] = []
    for name, fn in SOURCES.items():
        if sources is None or name in sources:
            out.extend(fn(site, t))
    return out
