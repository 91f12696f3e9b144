"""Access audit of 1,000,000 events within 10 s (import of the three files plus the audit).

Baseline: reading the same events file with the csv module alone, so the ratio says what the
parsing into typed records and the judgement cost on this machine. Times are CPU seconds of this
process (the machine is shared, so wall time mostly measures the neighbours); wall time is shown too.
"""
from __future__ import annotations

import csv
import os
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchdoc import machine, update_section  # noqa: E402
from gen_access import generate  # noqa: E402

from collector.audits.access import AccessPolicy, audit_access  # noqa: E402
from collector.sources.importers import access as imp  # noqa: E402

EVENTS = 1_000_000
BUDGET_S = 10.0


def main() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    with tempfile.TemporaryDirectory() as d:
        files = generate(Path(d), EVENTS)
        t0 = time.process_time()
        with open(files["events"], encoding="utf-8", newline="") as f:
            rows = sum(1 for _ in csv.reader(f)) - 1
        baseline = time.process_time() - t0
        t0, w0 = time.process_time(), time.perf_counter()
        events = imp.read_events(files["events"], zone)
        approvals = imp.read_approvals(files["approvals"], zone)
        badges = imp.read_badges(files["badges"], zone)
        t_import = time.process_time() - t0
        t0 = time.process_time()
        result = audit_access(events, approvals, badges,
                              AccessPolicy(machine_room_doors=frozenset({"machine-room-door"}), zone=zone))
        t_audit = time.process_time() - t0
        wall = time.perf_counter() - w0
    total = t_import + t_audit
    table = [
        ("csv.reader only (baseline)", rows, baseline, 1.0),
        ("import (events, approvals, badges)", len(events), t_import, t_import / baseline),
        ("audit", len(events), t_audit, t_audit / baseline),
        ("import + audit", len(events), total, total / baseline),
    ]
    lines = ["| step | events | CPU seconds | × baseline |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {n:,} | {s:.2f} | {r:.1f} |" for name, n, s, r in table]
    verdict = "within" if total <= BUDGET_S else "OVER"
    body = (f"Access audit (`bench/bench_access.py`, generator `bench/gen_access.py`), {machine()}.\n\n"
            + "\n".join(lines)
            + f"\n\n{len(result.violations):,} violations found; {total:.1f} CPU s ({wall:.1f} s wall, load average "
            f"{os.getloadavg()[0]:.1f}) is {verdict} the {BUDGET_S:g} s budget.")
    print(body)
    update_section("facility: access audit", body)
    if total > BUDGET_S:
        sys.exit(1)


if __name__ == "__main__":
    main()
