"""What the site configuration (SITE.yaml) says about doors, rooms and working hours.

Accepted shapes (other keys, e.g. the camera floor plan, are ignored):
  working_hours: "07:30-21:30"
  rooms:  [{id: machine-room, kind: machine_room, doors: [mr-door]}]   # or a mapping id -> room
  doors:  [{id: mr-door, room: machine-room, machine_room: true}]      # or plain names; `zone` for `room`
  zones:  like rooms (a floor plan's zones with kind machine_room and their doors)
  machine_room_doors: [mr-door]
  access: {escort_window_s: 120, max_held_open_s: 60}
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from collector.audits.access import AccessPolicy, WorkingHours
from collector.sources.importers.tables import InputError, load_yaml_mapping

MACHINE_ROOM_KINDS = {"machine_room", "machine-room", "server_room", "data_center", "机房"}


def _named(items: Any) -> list[dict[str, Any]]:
    """A list of names or dicts, or a mapping name -> dict, as a list of dicts with 'id'."""
    if isinstance(items, dict):
        return [{"id": k, **(v if isinstance(v, dict) else {})} for k, v in items.items()]
    out = []
    for it in items or []:
        out.append({"id": it} if isinstance(it, str) else dict(it))
    return out


def _name(d: dict[str, Any]) -> str:
    return str(d.get("id") or d.get("name") or "")


def _is_machine_room(d: dict[str, Any]) -> bool:
    return bool(d.get("machine_room")) or str(d.get("kind", d.get("type", ""))).casefold() in MACHINE_ROOM_KINDS


def _hours_text(v: Any) -> str | None:
    """'07:30-21:30', {start: '07:30', end: '21:30'} or ['07:30', '21:30']."""
    if isinstance(v, dict):
        return f"{v.get('start', v.get('from', ''))}-{v.get('end', v.get('to', ''))}"
    if isinstance(v, list | tuple) and len(v) == 2:
        return f"{v[0]}-{v[1]}"
    return str(v) if v else None


def load_site_policy(path: Path, zone: ZoneInfo, base: AccessPolicy | None = None) -> AccessPolicy:
    doc = load_yaml_mapping(path, "site file")
    policy = replace(base or AccessPolicy(), zone=zone)
    door_rooms: dict[str, str] = dict(policy.door_rooms)
    mr_doors = set(policy.machine_room_doors) | {str(d) for d in doc.get("machine_room_doors") or []}
    rooms = _named(doc.get("rooms")) + _named(doc.get("zones"))  # a floor plan's zones may list doors too
    for room in rooms:
        for door in room.get("doors") or []:
            door_rooms[str(door)] = _name(room)
            if _is_machine_room(room):
                mr_doors.add(str(door))
    mr_rooms = {_name(r) for r in rooms if _is_machine_room(r)}
    for door in _named(doc.get("doors")):
        name = _name(door)
        if door.get("room") or door.get("zone"):
            door_rooms[name] = str(door.get("room") or door.get("zone"))
        if _is_machine_room(door) or door_rooms.get(name) in mr_rooms:
            mr_doors.add(name)
    hours_text = _hours_text(doc.get("working_hours") or doc.get("hours") or (doc.get("access") or {}).get("hours"))
    access = doc.get("access") or {}
    try:
        hours = WorkingHours.parse(str(hours_text)) if hours_text else policy.hours
        return replace(policy, machine_room_doors=frozenset(mr_doors), door_rooms=door_rooms, hours=hours,
                       escort_window_s=float(access.get("escort_window_s", policy.escort_window_s)),
                       max_held_open_s=float(access.get("max_held_open_s", policy.max_held_open_s)))
    except (ValueError, TypeError) as e:
        raise InputError(path, None, str(e)) from None


_MACHINE_ROOM_WORDS = ("machine", "server", "data-center", "datacenter", "idc", "机房", "服务器", "数据中心")


def guess_machine_room_doors(doors: set[str]) -> frozenset[str]:
    """Without a site file: doors whose names say machine room (machine-room-door, 机房门...)."""
    return frozenset(d for d in doors if any(w in d.casefold() for w in _MACHINE_ROOM_WORDS))
