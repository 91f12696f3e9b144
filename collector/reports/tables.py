"""CSV for auditors' spreadsheets: one row per finding interval, one per violation."""
from __future__ import annotations

import csv
import io
import json

from agents.pii.mask import mask, mask_text
from collector.reports.data import ReportData

INTERVAL_COLUMNS = ("record", "control", "clauses", "subject_kind", "subject", "site", "status", "measured_status",
                    "start", "end", "duration_s", "reason_zh", "reason_en", "value")
VIOLATION_COLUMNS = ("record", "control", "clauses", "subject_kind", "subject", "start", "end", "duration_s",
                     "excepted", "reason_zh", "reason_en")


def _rows_intervals(d: ReportData):
    for r in d.results:
        clauses = " ".join(r.control.clauses)
        for p in r.pieces:
            iv = p.interval
            yield ("interval", r.control.id, clauses, p.subject_kind, mask_text(p.subject_id), iv.site, p.status,
                   p.measured, p.start.isoformat(), p.end.isoformat(), round(p.seconds), mask_text(iv.reason_zh),
                   mask_text(iv.reason_en), json.dumps(mask(iv.value), ensure_ascii=False, sort_keys=True))


def _rows_violations(d: ReportData):
    for r in d.results:
        clauses = " ".join(r.control.clauses)
        for v in r.violations:
            yield ("violation", r.control.id, clauses, v.subject_kind, mask_text(v.subject_id), v.start.isoformat(),
                   v.end.isoformat(), round(v.seconds), "yes" if v.status == "excepted" else "no",
                   mask_text(v.interval.reason_zh), mask_text(v.interval.reason_en))


def _csv(header, rows) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    # a BOM so spreadsheet programs open the Chinese text as UTF-8
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def intervals_csv(d: ReportData) -> bytes:
    return _csv(INTERVAL_COLUMNS, _rows_intervals(d))


def violations_csv(d: ReportData) -> bytes:
    return _csv(VIOLATION_COLUMNS, _rows_violations(d))


def combined_csv(d: ReportData) -> bytes:
    """Both kinds of row in one file, told apart by the `record` column (interval | violation);
    violation rows fill the interval columns they share and leave the rest empty."""
    idx = {c: i for i, c in enumerate(INTERVAL_COLUMNS)}
    header = (*INTERVAL_COLUMNS, "excepted")
    rows = [(*row, "") for row in _rows_intervals(d)]
    for v in _rows_violations(d):
        row = [""] * len(header)
        for col, val in zip(VIOLATION_COLUMNS, v, strict=True):
            row[idx[col] if col in idx else len(header) - 1] = val
        row[idx["status"]] = "fail"
        rows.append(tuple(row))
    return _csv(header, rows)
