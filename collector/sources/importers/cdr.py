"""Call detail records (话单) from the dialler, CSV: call_id,agent,terminal,number,start,duration_s,disposition.

Column names may differ per dialler: a mapping (our field -> their column) renames them.
`start` is ISO 8601 with an offset, or site local time without one. Dispositions come in
Chinese (停机/空号/不在服务区/欠费/可联/挂断) or English and are normalised to English.
"""
from __future__ import annotations

import operator
from collections.abc import Mapping
from datetime import datetime, tzinfo
from pathlib import Path

from collector.audits.calls import Call
from collector.inputs import InputProblem
from collector.sources.importers.tables import calendar_refusal, csv_rows

FIELDS = ("call_id", "agent", "terminal", "number", "start", "duration_s", "disposition")
DISPOSITIONS = {
    "停机": "suspended", "空号": "invalid", "不在服务区": "unreachable", "欠费": "arrears", "可联": "connected",
    "挂断": "hung_up", "suspended": "suspended", "invalid": "invalid", "unreachable": "unreachable",
    "arrears": "arrears", "connected": "connected", "hung_up": "hung_up", "hung up": "hung_up", "hungup": "hung_up",
}


class CdrError(InputProblem):
    """A record that cannot be read; the message names the file, line and field."""





def _start_or_fail(text: str, path: Path, line: int) -> datetime:
    try:
        return datetime.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        raise CdrError(f"{path}: line {line}: start: {text!r} is not an ISO 8601 time") from None


def _duration_or_fail(text: str, path: Path, line: int) -> float:
    """Blank (a call never answered) is 0; dialers also write HH:MM:SS or MM:SS."""
    t = text.strip()
    if not t:
        return 0.0
    parts = t.split(":")
    try:
        if 2 <= len(parts) <= 3:
            return float(sum(float(p) * 60 ** i for i, p in enumerate(reversed(parts))))
        return float(t)
    except ValueError:
        raise CdrError(f"{path}: line {line}: duration_s: {text!r} is not a number of seconds") from None


def _disposition_or_fail(text: str, path: Path, line: int) -> str:
    norm = DISPOSITIONS.get(text.strip()) or DISPOSITIONS.get(text.strip().lower())
    if norm is None:
        raise CdrError(f"{path}: line {line}: disposition: {text!r} is not one of 停机/空号/不在服务区/"
                       "欠费/可联/挂断 or suspended/invalid/unreachable/arrears/connected/hung_up")
    return norm


def read_cdr(path: Path, tz: tzinfo, mapping: Mapping[str, str] | None = None) -> list[Call]:
    """Every call of the file, or CdrError naming the first bad line and field."""
    rows = csv_rows(path)
    header = [h.strip() for h in next(rows, [])]
    columns = {f: (mapping or {}).get(f, f) for f in FIELDS}
    missing = [c for c in columns.values() if c not in header]
    if missing:
        raise CdrError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
    idx = [header.index(columns[f]) for f in FIELDS]
    width = max(idx) + 1
    pick = operator.itemgetter(*idx)
    fromiso = datetime.fromisoformat
    out: list[Call] = []
    append = out.append
    for line, row in enumerate(rows, start=2):
        if len(row) < width:
            if not any(row):
                continue
            raise CdrError(f"{path}: line {line}: {len(row)} fields, expected at least {width}")
        call_id, agent, terminal, number, start, duration, disposition = pick(row)
        try:
            when = fromiso(start)
        except ValueError:
            when = _start_or_fail(start, path, line)
        if when.tzinfo is None:
            when = when.replace(tzinfo=tz)
        if not 1970 < when.year < 2999 and (why := calendar_refusal(when, start)) is not None:
            raise CdrError(f"{path}: line {line}: start: {why}")  # (a time in 1970 or 2999 may still be in it)
        norm = DISPOSITIONS.get(disposition)
        if norm is None:
            norm = _disposition_or_fail(disposition, path, line)
        try:
            seconds = float(duration)
        except ValueError:
            seconds = _duration_or_fail(duration, path, line)
        if not seconds >= 0:
            raise CdrError(f"{path}: line {line}: duration_s: {duration!r} is negative")
        call_id = call_id.strip()
        if not call_id:
            raise CdrError(f"{path}: line {line}: call_id: empty")
        append(Call(call_id, agent, terminal, number, when, seconds, norm))
    return out
