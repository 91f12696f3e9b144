"""Rows out of spreadsheet exports: CSV (UTF-8 or GBK, with or without BOM, any line ending) and XLSX.

Real exports carry title lines above the header, extra columns, blank trailing lines and
Excel-typed cells; this module finds the header by the columns it needs and yields plain
rows with their line numbers so errors can name them.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from collector.inputs import InputError
from rules.model import EARLIEST, LATEST

HEADER_SEARCH_ROWS = 10


@dataclass
class Table:
    path: Path
    columns: dict[str, int]  # our field name -> column index
    rows: list[tuple[int, list[Any]]]  # (line number, cells)

    def cell(self, cells: Sequence[Any], name: str) -> Any:
        i = self.columns.get(name)
        if i is None or i >= len(cells):
            return None
        return cells[i]


def _key(header: Any) -> str:
    return "".join(str(header or "").split()).lstrip("\ufeff").casefold()


def decode_text(data: bytes, path: Path, encoding: str | None = None) -> str:
    """UTF-8 (with or without BOM) or GBK/GB18030, as Chinese access-control software writes."""
    if encoding:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as e:
            raise InputError(path, None, f"cannot decode as {encoding}: {e}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8", errors="strict")
        except UnicodeDecodeError as e:
            raise InputError(path, None, f"not UTF-8 text after its UTF-8 mark: {e}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError as e:
            raise InputError(path, None, f"neither UTF-8 nor GBK text: {e}") from None


def csv_rows(path: Path) -> Iterator[list[str]]:
    """Rows of a comma-separated export, UTF-8 or GBK. A file that cannot be read or decoded, or ends
    inside a quoted cell (an export cut short), is an InputError naming it and the line."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(path, None, f"cannot read: {e.strerror or e}") from None
    reader = csv.reader(io.StringIO(decode_text(raw, path), newline=""), strict=True)
    try:
        yield from reader
    except csv.Error as e:
        raise InputError(path, reader.line_num, f"not valid CSV (cut short?): {e}") from None


def _delimiter(first_lines: str) -> str:
    counts = {d: first_lines.count(d) for d in (",", "\t", ";", "|")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _csv_rows(path: Path, encoding: str | None) -> Iterator[tuple[int, list[Any]]]:
    text = decode_text(path.read_bytes(), path, encoding)
    head = text[:4096].splitlines()[:5]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter("\n".join(head)), strict=True)
    quoted = '"' in text
    del text
    try:
        if quoted:  # a quoted cell may span lines: ask the reader where each row started
            yield from ((reader.line_num, cells) for cells in reader)
        else:  # one row per line: counting ourselves is cheaper
            yield from enumerate(reader, start=1)
    except csv.Error as e:
        raise InputError(path, reader.line_num, f"not valid CSV: {e}") from None


def workbook_rows(path: Path, sheet: str | None = None) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(row number, cell values) of one sheet (default: the first); a broken workbook is an InputError."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds (zip, XML, key, value errors) for a broken workbook
        raise InputError(path, None, f"not a readable XLSX workbook: {type(e).__name__}: {e}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InputError(path, None, f"no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})")
        ws = book[sheet] if sheet else book.worksheets[0]
        n = 0
        try:
            for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
                yield n, row
        except InputError:
            raise
        except Exception as e:  # a truncated member shows only while rows are read
            raise InputError(path, n + 1, f"broken XLSX workbook: {type(e).__name__}: {e}") from None
    finally:
        book.close()


def _xlsx_rows(path: Path, sheet: str | None) -> Iterator[tuple[int, list[Any]]]:
    for n, row in workbook_rows(path, sheet):
        yield n, [_xlsx_cell(v) for v in row]


def _xlsx_cell(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))  # badge numbers typed as numbers
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    if isinstance(v, datetime | date):
        return v
    return "" if v is None else str(v)


def load_yaml_mapping(path: Path, what: str) -> dict[str, Any]:
    """A YAML file whose top level is a mapping (a site file, a column mapping)."""
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError, RecursionError) as e:
        raise InputError(path, None, f"not a readable {what}: {e}") from None
    if doc is None:
        raise InputError(path, None, f"empty file: no {what}")
    if not isinstance(doc, dict):
        raise InputError(path, 1, f"the {what} must be a mapping")
    return doc


def _blank(cells: list[Any]) -> bool:
    try:
        return not "".join(cells).strip()
    except TypeError:  # typed XLSX cells (dates) are content
        return False


def read_table(path: Path, aliases: Mapping[str, Sequence[str]], required: Sequence[str], *,
               encoding: str | None = None, sheet: str | None = None) -> Table:
    """Read a CSV or XLSX export; the header is the first row naming every required column."""
    if not path.is_file():
        raise InputError(path, None, "not a file" if path.exists() else "no such file")
    is_xlsx = path.suffix.lower() in (".xlsx", ".xlsm") or path.read_bytes()[:2] == b"PK"
    rows = _xlsx_rows(path, sheet) if is_xlsx else _csv_rows(path, encoding)
    lookup = {_key(a): name for name, names in aliases.items() for a in (name, *names)}
    header: dict[str, int] | None = None
    first: tuple[int, list[Any]] | None = None
    body: list[tuple[int, list[Any]]] = []
    for line, cells in rows:
        if header is None:
            found = {lookup[_key(c)]: i for i, c in reversed(list(enumerate(cells))) if _key(c) in lookup}
            if first is None and any(str(c).strip() for c in cells):
                first = (line, cells)
            if all(r in found for r in required):
                header = found
            elif line >= HEADER_SEARCH_ROWS and first is not None:
                break
            continue
        first_cell = cells[0] if cells else ""
        if any(cells) and (type(first_cell) is not str or not first_cell.isspace() and first_cell or
                           not _blank(cells)):
            body.append((line, cells))
    if header is None and first is None:
        return Table(path, {}, [])  # an empty export: nothing happened (the caller decides if that can be)
    if header is None:
        line = first[0] if first else 1
        seen = [str(c) for c in (first[1] if first else [])]
        missing = [r for r in required if r not in {lookup.get(_key(c)) for c in seen}]
        raise InputError(path, line, f"header lacks column(s) {', '.join(missing)} (found: {', '.join(seen)})")
    return Table(path, header, body)


def table_from_records(name: str, records: list[dict[str, Any]], fields: Sequence[str]) -> Table:
    """Records pushed as JSON, read like an export: errors name `name:N` for the N-th record (from 1)."""
    rows = [(i, ["" if r.get(f) is None else str(r.get(f)) for f in fields]) for i, r in enumerate(records, start=1)]
    return Table(Path(name), {f: i for i, f in enumerate(fields)}, rows)


def calendar_refusal(when: datetime, text: str) -> str | None:
    """Why an export's time `when` (written `text`) cannot be audited: the audits read each record's local hour,
    which a time outside the calendar senders' times lie in (rules/model.py) has not; None when it can."""
    return None if EARLIEST <= when < LATEST else f"{text!r} lies outside 1970-01-01 to 2999-12-31 (UTC)"
