"""One access audit from files to result, shared by `clausewatch audit access` and the collector's upload API."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

from collector.audit.access import AccessPolicy, AuditResult, WorkingHours, audit_access
from collector.importers import access as imp
from collector.importers.site import guess_machine_room_doors, load_site_policy
from collector.importers.tables import InputError, Table


def run_access_audit(events: Path | Table, approvals: Path | Table, badges: Path | Table, zone: ZoneInfo, *,
                     site: Path | None = None,
                     machine_room_doors: Sequence[str] = (), hours: str | None = None, mapping: Path | None = None,
                     max_held_open_s: float | None = None) -> AuditResult:
    """Read the three exports (all of them, or raise InputError naming file and line) and audit them."""
    maps = imp.load_mapping(mapping) if mapping else {}
    policy = load_site_policy(site, zone) if site else AccessPolicy(zone=zone)
    rows = imp.read_events(events, zone, maps.get("events"))
    grants = imp.read_approvals(approvals, zone, maps.get("approvals"))
    cards = imp.read_badges(badges, zone, maps.get("badges"))
    if machine_room_doors:
        policy = replace(policy, machine_room_doors=policy.machine_room_doors | frozenset(machine_room_doors))
    if not policy.machine_room_doors and site is None:
        policy = replace(policy, machine_room_doors=guess_machine_room_doors({e.door for e in rows}))
    if hours:
        try:
            policy = replace(policy, hours=WorkingHours.parse(hours))
        except ValueError as e:
            raise InputError("--hours", None, str(e)) from None
    if max_held_open_s is not None:
        policy = replace(policy, max_held_open_s=max_held_open_s)
    return audit_access(rows, grants, cards, policy)
