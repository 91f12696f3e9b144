"""Call detail records (话单) from the dialler, CSV: call_id,agent,terminal,number,start,duration_s,disposition.

Column names may differ per dialler: a mapping (our field -> their column) renames them.
`start` is ISO 8601 with an offset, or site local time without one. Dispositions come in
Chinese (停机/空号/不在服务区/欠费/可联/挂断) or English and are normalised to English.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

FIELDS = ("call_id", "agent", "terminal", "number", "start", "duration_s", "disposition")
DISPOSITIONS = {
    "停机": "suspended", "空号": "invalid", "不在服务区": "unreachable", "欠费": "arrears", "可联": "connected",
    "挂断": "hung_up", "suspended": "suspended", "invalid": "invalid", "unreachable": "unreachable",
    "arrears": "arrears", "connected": "connected", "hung_up": "hung_up", "hung up": "hung_up", "hungup": "hung_up",
}


class CdrError(ValueError):
    """A record that cannot be read; the message names the file, line and field."""


@dataclass(frozen=True, slots=True)
class Call:
    call_id: str
    agent: str
    terminal: str
    number: str
    start: datetime
    duration_s: float
    disposition: str  # suspended, invalid, unreachable, arrears, connected, hung_up

    @property
    def connected(self) -> bool:
        return self.disposition == "connected"


def decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="strict")


def parse_start(text: str, tz: tzinfo) -> datetime:
    t = text.strip().replace("/", "-")
    dt = datetime.fromisoformat(t)
    return dt if dt.tzinfo else dt.replace(tzinfo=tz)


def read_cdr(path: Path, tz: tzinfo, mapping: Mapping[str, str] | None = None) -> list[Call]:
    """Every call of the file, or CdrError naming the first bad line and field."""
    try:
        text = decode(path.read_bytes(), path)
    except (OSError, UnicodeDecodeError) as e:
        raise CdrError(f"{path}: cannot read ({e})") from None
    rows = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(rows, [])]
    columns = {f: (mapping or {}).get(f, f) for f in FIELDS}
    missing = [c for c in columns.values() if c not in header]
    if missing:
        raise CdrError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
    idx = [header.index(columns[f]) for f in FIELDS]
    width = max(idx) + 1
    out: list[Call] = []
    append = out.append
    for line, row in enumerate(rows, start=2):
        if len(row) < width:
            if not any(row):
                continue
            raise CdrError(f"{path}: line {line}: {len(row)} fields, expected at least {width}")
        call_id, agent, terminal, number, start, duration, disposition = (row[i].strip() for i in idx)
        if not call_id:
            raise CdrError(f"{path}: line {line}: call_id: empty")
        try:
            when = parse_start(start, tz)
        except ValueError:
            raise CdrError(f"{path}: line {line}: start: {start!r} is not an ISO 8601 time") from None
        try:
            seconds = float(duration)
        except ValueError:
            raise CdrError(f"{path}: line {line}: duration_s: {duration!r} is not a number") from None
        if seconds < 0 or seconds != seconds:
            raise CdrError(f"{path}: line {line}: duration_s: {duration!r} is negative")
        norm = DISPOSITIONS.get(disposition) or DISPOSITIONS.get(disposition.lower())
        if norm is None:
            raise CdrError(f"{path}: line {line}: disposition: {disposition!r} is not one of 停机/空号/不在服务区/"
                           "欠费/可联/挂断 or suspended/invalid/unreachable/arrears/connected/hung_up")
        append(Call(call_id, agent, terminal, number, when, seconds, norm))
    return out
