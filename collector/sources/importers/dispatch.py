"""Read the bank's dispatch file (委案清单, CSV or XLSX): batch facts and the identifiers it holds.

Identifiers are recognised in every cell, whatever the column is called; the batch's id, bank
and dates come from columns with the usual names or from the caller. Raw identifiers stay in
memory only: callers hash them into a manifest.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from agents.pii.detect import find
from collector.inputs import InputProblem
from collector.sources.importers.tables import csv_rows, workbook_rows

COLUMNS = {
    "batch": ("batch", "batch_id", "batch_no", "batch_number", "批次", "批次号", "批次编号", "委案批次", "委托批次"),
    "bank": ("bank", "bank_name", "委托方", "委托银行", "银行", "银行名称", "委托机构"),
    "dispatch_date": ("dispatch_date", "dispatched", "dispatch", "start_date", "commission_start", "委案日期",
                      "委托日期", "分案日期", "委案时间"),
    "end_date": ("end_date", "end", "commission_end", "expiry_date", "退案日期", "委案到期日", "到期日", "委托到期日",
                 "委托截止日", "委案截止日", "截止日期", "退案时间"),
}

SCAN_ROWS = 10_000


class DispatchError(InputProblem):
    """The file cannot be imported; the message names the file, line and field."""


@dataclass
class Dispatch:
    rows: int = 0
    identifiers: set[bytes] = field(default_factory=set)
    facts: dict[str, str] = field(default_factory=dict)  # batch, bank, dispatch_date, end_date from columns


def parse_date(text: str, where: str) -> date:
    t = text.strip().replace("/", "-").replace(".", "-")
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y年%m月%d日"):
        try:
            return datetime.strptime(t, fmt).date()
        except ValueError:
            continue
    raise DispatchError(f"{where}: {text!r} is not a date (YYYY-MM-DD)")


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()


def xlsx_rows(path: Path) -> Iterator[list[str]]:
    for _, row in workbook_rows(path):
        yield [cell_text(v) for v in row]


def read_dispatch(path: Path) -> Dispatch:
    """Count data rows, collect identifiers and the batch facts the columns carry."""
    rows = xlsx_rows(path) if path.suffix.lower() in (".xlsx", ".xlsm") else csv_rows(path)
    header = next(rows, None)
    if not header or not any(header):
        raise DispatchError(f"{path}: line 1: no header row")
    names = [h.strip().lower() for h in header]
    where = {fact: next((i for i, n in enumerate(names) if n in aliases), None) for fact, aliases in COLUMNS.items()}
    out = Dispatch()
    block: list[str] = []  # rows are scanned for identifiers in blocks: one numpy pass per block, not per row
    for line, row in enumerate(rows, start=2):
        if not any(c.strip() for c in row):
            continue
        out.rows += 1
        block.append(",".join(row))
        if len(block) >= SCAN_ROWS:
            out.identifiers.update(number for _, number in find("\n".join(block).encode("utf-8")))
            block.clear()
        for fact, col in where.items():
            if col is None or col >= len(row) or not row[col].strip():
                continue
            value = row[col].strip()
            if fact.endswith("_date"):
                value = parse_date(value, f"{path}: line {line}: {header[col]}").isoformat()
            seen = out.facts.setdefault(fact, value)
            if seen != value:
                raise DispatchError(f"{path}: line {line}: {header[col]}: {value!r} differs from {seen!r} "
                                    f"of earlier rows (one file, one batch)")
    out.identifiers.update(number for _, number in find("\n".join(block).encode("utf-8")))
    if out.rows == 0:
        raise DispatchError(f"{path}: no data rows")
    return out
