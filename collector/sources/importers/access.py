"""Access-controller exports, entry approvals and the badge list into audit records.

Default formats (header row; CSV in UTF-8 or GBK, or XLSX):
  events:    time,door,badge,person,direction,result[,duration_s]
  approvals: approval_id,person,door,start,end,approved_by
  badges:    badge,person,role,valid_from,valid_to
Common Chinese headers and values are recognised as they are; anything else is described by a
column-mapping file (see docs/facility.md). Every malformed row raises InputError naming the
file, line and field; nothing is returned until every row has parsed.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from collector.audits.access import AccessEvent, Approval, Badge, gc_paused
from collector.sources.importers.tables import InputError, Table, calendar_refusal, load_yaml_mapping, read_table

EVENT_ALIASES = {
    "time": ["timestamp", "datetime", "event_time", "时间", "刷卡时间", "事件时间", "发生时间", "日期时间"],
    "door": ["door_name", "reader", "门", "门名称", "门禁点", "门点", "设备名称", "读卡器"],
    "badge": ["card", "card_no", "badge_id", "卡号", "门禁卡号", "卡片编号"],
    "person": ["name", "user", "人员", "姓名", "人员姓名", "持卡人"],
    "direction": ["dir", "in_out", "方向", "进出", "进出方向", "出入方向"],
    "result": ["event", "status", "结果", "事件", "事件类型", "通行结果"],
    "duration_s": ["duration", "open_s", "时长", "开门时长", "持续时间", "持续秒数"],
}
APPROVAL_ALIASES = {
    "approval_id": ["id", "审批单号", "审批编号", "单号"],
    "person": ["name", "人员", "姓名", "申请人", "进入人员"],
    "door": ["room", "门", "门名称", "区域", "机房"],
    "start": ["valid_from", "from", "开始时间", "开始", "起始时间"],
    "end": ["valid_to", "to", "until", "结束时间", "结束", "截止时间"],
    "approved_by": ["approver", "审批人", "批准人"],
}
BADGE_ALIASES = {
    "badge": ["card", "card_no", "badge_id", "卡号", "门禁卡号", "卡片编号"],
    "person": ["name", "人员", "姓名", "持卡人"],
    "role": ["type", "角色", "类型", "身份", "卡类型"],
    "valid_from": ["from", "start", "生效时间", "有效期开始", "开始时间"],
    "valid_to": ["to", "end", "expires", "失效时间", "有效期至", "有效期结束", "结束时间"],
}
REQUIRED = {"events": ("time", "door", "result"), "approvals": ("person", "start", "end"),
            "badges": ("badge", "role")}
VALUES = {
    "result": {"granted": "granted", "grant": "granted", "allowed": "granted", "ok": "granted", "success": "granted",
               "access_granted": "granted", "允许": "granted", "通过": "granted", "成功": "granted",
               "刷卡开门": "granted", "正常开门": "granted", "合法开门": "granted",
               "denied": "denied", "deny": "denied", "rejected": "denied", "access_denied": "denied",
               "拒绝": "denied", "失败": "denied", "无效卡": "denied", "非法卡": "denied",
               "held_open": "held_open", "door_held_open": "held_open", "held": "held_open",
               "门未关": "held_open", "门长时间未关": "held_open", "开门超时": "held_open",
               "forced": "forced", "forced_open": "forced", "door_forced": "forced", "forced_entry": "forced",
               "强行开门": "forced", "非法开门": "forced", "强制开门": "forced"},
    "direction": {"in": "in", "entry": "in", "enter": "in", "i": "in", "进": "in", "进门": "in", "入": "in",
                  "out": "out", "exit": "out", "o": "out", "出": "out", "出门": "out"},
    "role": {"staff": "staff", "employee": "staff", "员工": "staff", "职员": "staff",
             "admin": "admin", "administrator": "admin", "管理员": "admin", "机房管理员": "admin",
             "visitor": "visitor", "guest": "visitor", "访客": "visitor", "临时": "visitor",
             "revoked": "revoked", "disabled": "revoked", "lost": "revoked", "注销": "revoked",
             "挂失": "revoked", "停用": "revoked"},
}
_LOOSE_TIME = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


@dataclass
class Mapping_:
    """One section of a column-mapping file: which header holds which field, and value translations."""

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    time_format: str | None = None
    encoding: str | None = None
    sheet: str | None = None


def load_mapping(path: Path) -> dict[str, Mapping_]:
    """A YAML file with sections `events`, `approvals`, `badges` (each optional)."""
    doc = load_yaml_mapping(path, "column mapping")
    out = {}
    for section, body in doc.items():
        if section not in REQUIRED or not isinstance(body, dict):
            raise InputError(path, None, f"unknown section {section!r} (events, approvals, badges)")
        out[section] = Mapping_(columns={str(k): str(v) for k, v in (body.get("columns") or {}).items()},
                                values={str(k): {str(a).casefold(): str(b) for a, b in v.items()}
                                        for k, v in (body.get("values") or {}).items()},
                                time_format=body.get("time_format"), encoding=body.get("encoding"),
                                sheet=body.get("sheet"))
    return out


class _Parser:
    """Turns cells of one table into typed values, raising InputError with file, line and field."""

    def __init__(self, table: Table, mapping: Mapping_, zone: ZoneInfo):
        self.table, self.mapping, self.zone = table, mapping, zone
        self.line = 0

    def fail(self, name: str, message: str) -> InputError:
        return InputError(self.table.path, self.line, message, name)

    def text(self, cells: list[Any], name: str, required: bool = False) -> str:
        v = self.table.cell(cells, name)
        s = "" if v is None else str(v).strip()
        if required and not s:
            raise self.fail(name, "missing")
        return s

    def choice(self, cells: list[Any], name: str, required: bool = True) -> str:
        raw = self.text(cells, name, required)
        if not raw:
            return ""
        key = raw.casefold()
        got = self.mapping.values.get(name, {}).get(key) or VALUES[name].get(key.replace(" ", "_").replace("-", "_"))
        if got is None:
            allowed = sorted(set(VALUES[name].values()))
            raise self.fail(name, f"{raw!r} is not one of {', '.join(allowed)}")
        return got

    def when(self, cells: list[Any], name: str, required: bool = True, end_of_day: bool = False) -> datetime | None:
        v = self.table.cell(cells, name)
        if isinstance(v, datetime):
            return v if v.tzinfo else v.replace(tzinfo=self.zone)
        if isinstance(v, date):
            return _day_bound(v, self.zone, end_of_day)
        s = "" if v is None else str(v).strip()
        if not s:
            if required:
                raise self.fail(name, "missing")
            return None
        try:
            return parse_time(s, self.zone, self.mapping.time_format, end_of_day)
        except ValueError:
            raise self.fail(name, f"{s!r} is not an ISO 8601 time") from None

    def seconds(self, cells: list[Any], name: str) -> float | None:
        s = self.text(cells, name)
        if not s:
            return None
        try:
            n = float(s.removesuffix("s").removesuffix("秒"))
        except ValueError:
            raise self.fail(name, f"{s!r} is not a number of seconds") from None
        if n < 0 or n != n:
            raise self.fail(name, f"{s!r} must be zero or more seconds")
        return n


def _day_bound(d: date, zone: ZoneInfo, end_of_day: bool) -> datetime:
    """A bare date: its first moment, or its last when it closes a period."""
    t = datetime.combine(d, time(0), zone)
    return t + timedelta(days=1, microseconds=-1) if end_of_day else t


def parse_time(s: str, zone: ZoneInfo, fmt: str | None = None, end_of_day: bool = False) -> datetime:
    """ISO 8601 with offset, or site-local without one; also 2026/11/3 8:05 as exports write it."""
    if fmt:
        t = datetime.strptime(s, fmt)
    else:
        try:
            t = datetime.fromisoformat(s)
        except ValueError:
            m = _LOOSE_TIME.match(s)
            if not m:
                raise
            y, mo, d, h, mi, sec = m.groups()
            if h is None:
                return _day_bound(date(int(y), int(mo), int(d)), zone, end_of_day)
            t = datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec or 0))
        else:
            if len(s) == 10 and "T" not in s:
                return _day_bound(t.date(), zone, end_of_day)
    return t if t.tzinfo else t.replace(tzinfo=zone)


def _table(path: Path | Table, kind: str, aliases: Mapping[str, list[str]], mapping: Mapping_) -> Table:
    if isinstance(path, Table):
        return path
    names = {k: [*v, *([mapping.columns[k]] if k in mapping.columns else [])] for k, v in aliases.items()}
    return read_table(path, names, REQUIRED[kind], encoding=mapping.encoding, sheet=mapping.sheet)


def read_events(path: Path | Table, zone: ZoneInfo, mapping: Mapping_ | None = None) -> list[AccessEvent]:
    """Events of an export file (or of records already in a Table); InputError names file, line and field."""
    mapping = mapping or Mapping_()
    with gc_paused():
        table = _table(path, "events", EVENT_ALIASES, mapping)
    if not table.columns:  # no approvals can be a quiet day; an events file without even a header is a failed export
        raise InputError(table.path, None, "empty file: an events export has at least its header row")
    p = _Parser(table, mapping, zone)
    fast = _FastEvents(table, mapping, zone)
    out: list[AccessEvent] = []
    with gc_paused():
        _convert_events(table, p, fast, out)
    return out


def _convert_events(table: Table, p: _Parser, fast: _FastEvents, out: list[AccessEvent]) -> None:
    def careful(line: int, cells: list[Any]) -> AccessEvent:
        """Anything unusual takes this path, which also names what is wrong."""
        p.line = line
        result = p.choice(cells, "result")
        direction = p.choice(cells, "direction", required=result in ("granted", "denied"))
        duration = p.seconds(cells, "duration_s")
        t = p.when(cells, "time")
        assert t is not None
        if (why := calendar_refusal(t, p.text(cells, "time"))) is not None:
            raise p.fail("time", why)
        return AccessEvent(t, p.text(cells, "door", True), p.text(cells, "badge"), p.text(cells, "person"),
                           direction, result, duration, line)

    if fast.plain_time:
        fast.convert_rows(table.rows, careful, out)
    else:
        out.extend(careful(line, cells) for line, cells in table.rows)


class _FastEvents:
    """The common row (text cells, known values, ISO time) converted in one tight loop."""

    def __init__(self, table: Table, mapping: Mapping_, zone: ZoneInfo):
        cols = table.columns
        self.index = [cols.get(f, -1) for f in ("time", "door", "badge", "person", "direction", "result",
                                                 "duration_s")]
        self.width = max(self.index) + 1
        self.results = {**VALUES["result"], **mapping.values.get("result", {})}
        self.directions = {**VALUES["direction"], **mapping.values.get("direction", {}), "": ""}
        self.zone = zone
        self.plain_time = mapping.time_format is None

    @staticmethod
    def _folded(table: dict[str, str], raw: Any) -> str | None:
        """'Granted', ' IN ' and the like: learnt once, then found directly."""
        if not isinstance(raw, str) or not raw:
            return None
        got = table.get(raw.strip().casefold().replace(" ", "_").replace("-", "_"))
        if got is not None:
            table[raw] = got
        return got

    def convert_rows(self, rows: list[tuple[int, list[Any]]], careful: Callable[[int, list[Any]], AccessEvent],
                     out: list[AccessEvent]) -> None:
        it, idoor, ibadge, iperson, idir, ires, idur = self.index
        width, results, directions, zone = self.width, self.results, self.directions, self.zone
        fromiso, event, append, folded = datetime.fromisoformat, AccessEvent, out.append, self._folded
        for line, cells in rows:
            if len(cells) < width:
                append(careful(line, cells))
                continue
            result = results.get(cells[ires]) or folded(results, cells[ires])
            direction = (directions.get(cells[idir]) if idir >= 0 else "")
            if direction is None:
                direction = folded(directions, cells[idir])
            raw_t, door = cells[it], cells[idoor]
            if result is None or direction is None or type(raw_t) is not str or type(door) is not str or \
                    len(raw_t) <= 10 or (not direction and (result == "granted" or result == "denied")):
                append(careful(line, cells))
                continue
            door = door.strip()
            duration = None
            if idur >= 0 and cells[idur]:
                try:
                    duration = float(cells[idur])
                except ValueError:
                    duration = -1.0
            try:
                t = fromiso(raw_t)
            except ValueError:
                t = None
            if t is None or not door or (duration is not None and not duration >= 0) or not 1970 < t.year < 2999:
                append(careful(line, cells))  # a time in 1970 or 2999 may lie outside the calendar in UTC
                continue
            if t.tzinfo is None:
                t = t.replace(tzinfo=zone)
            append(event(t, door, cells[ibadge].strip() if ibadge >= 0 else "",
                         cells[iperson].strip() if iperson >= 0 else "", direction, result, duration, line))


def _each_row(path: Path | Table, kind: str, aliases: Mapping[str, list[str]], zone: ZoneInfo,
              mapping: Mapping_ | None) -> Iterator[tuple[_Parser, list[Any]]]:
    mapping = mapping or Mapping_()
    table = _table(path, kind, aliases, mapping)
    p = _Parser(table, mapping, zone)
    for line, cells in table.rows:
        p.line = line
        yield p, cells


def read_approvals(path: Path | Table, zone: ZoneInfo, mapping: Mapping_ | None = None) -> list[Approval]:
    out = []
    for p, cells in _each_row(path, "approvals", APPROVAL_ALIASES, zone, mapping):
        start, end = p.when(cells, "start"), p.when(cells, "end", end_of_day=True)
        assert start is not None and end is not None
        if end < start:
            raise p.fail("end", "ends before it starts")
        out.append(Approval(p.text(cells, "approval_id"), p.text(cells, "person", True), p.text(cells, "door"),
                            start, end, p.text(cells, "approved_by")))
    return out


def read_badges(path: Path | Table, zone: ZoneInfo, mapping: Mapping_ | None = None) -> list[Badge]:
    return [Badge(p.text(cells, "badge", True), p.text(cells, "person"), p.choice(cells, "role"),
                  p.when(cells, "valid_from", required=False),
                  p.when(cells, "valid_to", required=False, end_of_day=True))
            for p, cells in _each_row(path, "badges", BADGE_ALIASES, zone, mapping)]
