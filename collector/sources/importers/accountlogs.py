"""The collection system's user list and login/operation log (CSV, UTF-8 or GBK).

Columns are found by their usual names (English or Chinese) or through a mapping
(field -> column). Times are ISO 8601 with an offset, or site local time without one.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from pathlib import Path

from collector.audits.accounts import Event, User
from collector.inputs import InputProblem
from collector.sources.importers.dispatch import DispatchError, parse_date
from collector.sources.importers.tables import calendar_refusal, csv_rows

USER_COLUMNS = {
    "account": ("account", "user", "username", "user_name", "login", "user_id", "userid", "account_id", "账号",
                "用户名", "登录名", "用户", "工号"),
    "name": ("name", "person", "full_name", "姓名", "员工姓名"),
    "end_date": ("end_date", "left", "left_on", "departed", "departure_date", "leave_date", "termination_date",
                 "disabled_at", "离职日期", "停用日期", "离职时间"),
    "status": ("status", "state", "状态", "在职状态"),
}
LOG_COLUMNS = {
    "time": ("time", "timestamp", "datetime", "date_time", "ts", "event_time", "login_time", "start", "start_time",
             "时间", "操作时间", "登录时间"),
    "account": USER_COLUMNS["account"],
    "terminal": ("terminal", "terminal_id", "host", "hostname", "ip", "source_ip", "client_ip", "workstation",
                 "machine", "computer", "终端", "终端号", "登录ip", "ip地址", "终端ip"),
    "action": ("action", "event", "event_type", "type", "operation", "activity", "操作", "事件", "操作类型", "动作"),
    "records": ("records", "record_count", "count", "rows", "exported", "num_records", "记录数", "条数", "导出条数",
                "数量"),
    "end_time": ("logout_time", "end_time", "session_end", "end", "登出时间", "退出时间"),
}
DEPARTED = ("departed", "left", "resigned", "terminated", "disabled", "inactive", "离职", "已离职", "停用")
ACTIONS = {"login": ("login", "logon", "sign_in", "登录", "登入"), "logout": ("logout", "logoff", "sign_out", "退出",
                                                                         "登出", "注销"),
           "export": ("export", "download", "导出", "下载")}
_ACTION_OF = {alias: action for action, aliases in ACTIONS.items() for alias in aliases}


class AccountLogError(InputProblem):
    """A file that cannot be read; the message names the file, line and field."""








def _columns(path: Path, header: list[str], wanted: Mapping[str, tuple[str, ...]], mapping: Mapping[str, str],
             required: tuple[str, ...]) -> dict[str, int]:
    names = [h.strip().lower() for h in header]
    out = {}
    for field, aliases in wanted.items():
        candidates = (mapping[field].strip().lower(),) if field in mapping else aliases
        idx = next((names.index(a) for a in candidates if a in names), None)
        if idx is not None:
            out[field] = idx
        elif field in required:
            raise AccountLogError(f"{path}: line 1: no column for {field} (give --map {field}=COLUMN)")
    return out


def read_users(path: Path, mapping: Mapping[str, str] | None = None) -> dict[str, User]:
    rows = csv_rows(path)
    cols = _columns(path, next(rows, []), USER_COLUMNS, mapping or {}, ("account",))
    users = {}
    for line, row in enumerate(rows, start=2):
        if not any(c.strip() for c in row):
            continue
        get = {f: (row[i].strip() if i < len(row) else "") for f, i in cols.items()}
        if not get["account"]:
            raise AccountLogError(f"{path}: line {line}: account: empty")
        try:
            end = parse_date(get["end_date"], f"{path}: line {line}: end_date") if get.get("end_date") else None
        except DispatchError as e:
            raise AccountLogError(str(e)) from None
        if end is None and get.get("status", "").lower() in DEPARTED:
            end = date.min  # departed on an unknown day: any activity in the log is after it
        users[get["account"]] = User(get["account"], get.get("name", ""), end)
    return users


def _time(text: str, tz: tzinfo, where: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.replace("/", "-"))
    except ValueError:
        raise AccountLogError(f"{where}: {text!r} is not an ISO 8601 time") from None
    when = when if when.tzinfo else when.replace(tzinfo=tz)
    if (why := calendar_refusal(when, text)) is not None:
        raise AccountLogError(f"{where}: {why}")
    return when


def read_events(path: Path, tz: tzinfo, mapping: Mapping[str, str] | None = None) -> list[Event]:
    rows = csv_rows(path)
    cols = _columns(path, next(rows, []), LOG_COLUMNS, mapping or {}, ("time", "account"))
    out = []
    for line, row in enumerate(rows, start=2):
        if not any(c.strip() for c in row):
            continue
        get = {f: (row[i].strip() if i < len(row) else "") for f, i in cols.items()}
        when = _time(get["time"], tz, f"{path}: line {line}: time")
        try:
            records = int(float(get.get("records") or 0))
        except ValueError:
            raise AccountLogError(f"{path}: line {line}: records: {get['records']!r} is not a number") from None
        if not get["account"]:
            raise AccountLogError(f"{path}: line {line}: account: empty")
        # a session log (login time, logout time) has no action: each row is a login
        action = _ACTION_OF.get(get.get("action", "").lower(), get.get("action", "").lower() or "login")
        terminal = get.get("terminal", "")
        out.append(Event(when, get["account"], terminal, action, records))
        if get.get("end_time"):
            out.append(Event(_time(get["end_time"], tz, f"{path}: line {line}: end_time"), get["account"], terminal,
                             "logout", 0))
    out.sort(key=lambda e: e.time)
    return out
