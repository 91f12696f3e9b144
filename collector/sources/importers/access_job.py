"""One access audit from files to result, shared by `clausewatch audit access` and the collector's upload API."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from collector.audits.access import AccessPolicy, AuditResult, WorkingHours, audit_access
from collector.audits.access_window import Push, with_window
from collector.sources.importers import access as imp
from collector.sources.importers.site import guess_machine_room_doors, load_site_policy
from collector.sources.importers.tables import InputError, Table
from collector.store.base import Store


def run_access_audit(events: Path | Table, approvals: Path | Table, badges: Path | Table, zone: ZoneInfo, *,
                     site: Path | None = None,
                     machine_room_doors: Sequence[str] = (), hours: str | None = None, mapping: Path | None = None,
                     limits: Mapping[str, float] | None = None,
                     overrides: Mapping[str, float] | None = None) -> AuditResult:
    """Read the three exports (all of them, or raise InputError naming file and line) and audit them with
    the catalog's `limits` (rules/audit_params.py), a site file's and then the command line's `overrides`."""
    maps = imp.load_mapping(mapping) if mapping else {}
    rows = imp.read_events(events, zone, maps.get("events"))
    grants = imp.read_approvals(approvals, zone, maps.get("approvals"))
    cards = imp.read_badges(badges, zone, maps.get("badges"))
    policy = access_policy(zone, {e.door for e in rows}, site=site, machine_room_doors=machine_room_doors,
                           hours=hours, limits=limits, overrides=overrides)
    return audit_access(rows, grants, cards, policy)


def audit_push(store: Store, site: str, events: Table, approvals: Table, badges: Table, zone: ZoneInfo, *,
               now: datetime, machine_room_doors: Sequence[str] = (), hours: str | None = None,
               limits: Mapping[str, float] | None = None) -> tuple[AuditResult, Push]:
    """Audit pushed records (InputError names `events:N` of this push) with the stored pushes of the
    recent window; the caller keeps the returned push (`access_window.remember`) once the result is stored."""
    push = Push(imp.read_events(events, zone), imp.read_approvals(approvals, zone), imp.read_badges(badges, zone))
    push.as_of = datetime.fromtimestamp(push.span(now)[1], UTC)
    merged = with_window(store, site, push, now)
    policy = access_policy(zone, {e.door for e in merged.events}, machine_room_doors=machine_room_doors, hours=hours,
                           limits=limits)
    return audit_access(merged.events, merged.approvals, merged.badges, policy), push


def access_policy(zone: ZoneInfo, doors_seen: set[str], *, site: Path | None = None,
                  machine_room_doors: Sequence[str] = (), hours: str | None = None,
                  limits: Mapping[str, float] | None = None,
                  overrides: Mapping[str, float] | None = None) -> AccessPolicy:
    """The catalog's limits, then the site file's policy, then the command line's (or request's)
    overrides; without a site file or doors named, doors whose names say machine room are taken as such."""
    base = AccessPolicy(zone=zone).with_thresholds(limits or {})
    policy = load_site_policy(site, zone, base) if site else base
    if machine_room_doors:
        policy = replace(policy, machine_room_doors=policy.machine_room_doors | frozenset(machine_room_doors))
    if not policy.machine_room_doors and site is None:
        policy = replace(policy, machine_room_doors=guess_machine_room_doors(doors_seen))
    if hours:
        try:
            policy = replace(policy, hours=WorkingHours.parse(hours))
        except ValueError as e:
            raise InputError("--hours", None, str(e)) from None
    return policy.with_thresholds(overrides or {})
