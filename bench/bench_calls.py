"""Calls audit at scale: 1,000,000 call records and 2,000,000 recording names in at most 60 s.

Recordings are given as names (path, size, mtime) without files, so the run measures the audit,
not the disk; content checks (SHA-256, playing time) are I/O-bound and off here. Baseline: reading
the same CDR file with the csv module alone.
"""
from __future__ import annotations

import csv
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchdoc import write_section  # noqa: E402
from collector.audits.calls import CallsPolicy, Content, audit_calls  # noqa: E402
from collector.sources.importers.cdr import read_cdr  # noqa: E402
from collector.sources.importers.recordings import inventory  # noqa: E402

CALLS = 1_000_000
TZ = ZoneInfo("Asia/Shanghai")
DISPOSITIONS = ("可联", "可联", "可联", "挂断", "空号", "停机", "不在服务区", "欠费")


def write_cdr(path: Path, rng: random.Random) -> list[tuple[str, int, float]]:
    """The CDR file, and recording names for the primary and backup stores (a few missing)."""
    start = datetime(2026, 1, 1, 8, 0)
    names: list[tuple[str, int, float]] = []
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("call_id,agent,terminal,number,start,duration_s,disposition\n")
        for i in range(CALLS):
            # about 2,000 calls a day between 08:00 and 21:00, one in a thousand after hours
            when = start + timedelta(days=i // 2000, seconds=(i % 2000) * 23 + (15 * 3600 if i % 1000 == 7 else 0))
            f.write(f"C{i:08d},A{i % 300:03d},T{i % 300:03d},138{rng.randrange(10 ** 8):08d},"
                    f"{when:%Y-%m-%d %H:%M:%S},{rng.randrange(5, 300)},{DISPOSITIONS[i % 8]}\n")
            if i % 997:
                mtime = when.replace(tzinfo=TZ).timestamp()
                names.append((f"/rec/primary/{when:%Y/%m/%d}/C{i:08d}.wav", 96_000, mtime))
                names.append((f"/rec/backup/{when:%Y/%m/%d}/C{i:08d}.wav", 96_000, mtime))
    return names


def main() -> None:
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        cdr = Path(tmp) / "cdr.csv"
        names = write_cdr(cdr, rng)
        t = time.process_time()
        with open(cdr, encoding="utf-8", newline="") as f:
            rows = sum(1 for _ in csv.reader(f))
        baseline_s = time.process_time() - t
        t = time.process_time()
        calls = read_cdr(cdr, TZ)
        read_s = time.process_time() - t
        t = time.process_time()
        primary = inventory(n for n in names if n[0].startswith("/rec/primary/"))
        backup = inventory(n for n in names if n[0].startswith("/rec/backup/"))
        inventory_s = time.process_time() - t
        t = time.process_time()
        report = audit_calls(calls, primary, backup, tz=TZ, now=datetime(2026, 12, 1, tzinfo=TZ),
                             policy=CallsPolicy(), content=Content(lambda p: None, lambda p: "", verify=False))
        audit_s = time.process_time() - t
    total = read_s + inventory_s + audit_s
    table = ["| step | CPU seconds |", "|---|---|",
             f"| csv.reader alone (baseline, {rows - 1:,} rows) | {baseline_s:.1f} |",
             f"| read and validate {CALLS:,} call records | {read_s:.1f} |",
             f"| inventory {len(names):,} recording names | {inventory_s:.1f} |",
             f"| audit (hours, presence, backup, retention, recorder) | {audit_s:.1f} |",
             f"| **total** (goal ≤ 60 s) | **{total:.1f}** |", "",
             f"Total / baseline: {total / baseline_s:.1f}×. Violations found: "
             + ", ".join(f"{k}={n:,}" for k, n in report["counts"].items()) + ".",
             "Content checks (SHA-256 of both copies, playing time) are off: they read every file and "
             "are bounded by the disk, not by this code. CPU time of one process: the machine is shared, so "
             "wall time says more about the neighbours than about the audit."]
    print("\n".join(table))
    write_section("lifecycle: calls audit", "\n".join(table))
    if total > 60:
        sys.exit(1)


if __name__ == "__main__":
    main()
