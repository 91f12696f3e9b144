"""`ledger verify` and `ledger verify --deep` on a simulated site (`clausewatch demo --no-serve`):
7 days, 100 terminals, hourly snapshots by default. Baseline: the plain verify of the same store
(chain, signatures, Merkle roots, evidence files); --deep is given as a ratio to it. Updates the
`## ledger verify --deep` section of docs/benchmarks.md."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchdoc import table, write_section  # noqa: E402


def main() -> None:
    from collector.cli.demo import build_history
    from collector.proof.deepverify import verify_derived
    from collector.store.sqlite import SqliteStore
    from rules.catalog import default_catalog

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--days", type=float, default=7)
    ap.add_argument("--terminals", type=int, default=100)
    args = ap.parse_args()
    db = Path(tempfile.mkdtemp(prefix="cw-bench-deep-")) / "demo.db"
    build_history(db, args.days, args.terminals, 6, 60, datetime.now(UTC).replace(microsecond=0))
    store = SqliteStore(db)
    t = time.perf_counter()
    plain = store.verify_ledger()
    plain_s = time.perf_counter() - t
    t = time.perf_counter()
    with store.snapshot() as conn:
        deep = verify_derived(conn, list(default_catalog()))
    deep_s = time.perf_counter() - t
    store.close()
    assert plain.ok and deep.ok, deep.differences[:3]
    rows = [["ledger verify (baseline)", f"{plain_s:.2f} s", f"{plain.entries:,} entries, "
             f"{plain.observations_checked:,} observations, {plain.evidence_checked} evidence files", "1.0×"],
            ["--deep, in addition", f"{deep_s:.2f} s", ", ".join(f"{n:,} {what}" for what, n in deep.checked.items()),
             f"{deep_s / plain_s:.1f}×"]]
    load = os.getloadavg()[0]
    body = (f"{args.days:g} simulated days, {args.terminals} terminals, hourly snapshots; load average {load:.1f}"
            " when measured.\n\n" + table(["what", "time", "checked", "× baseline"], rows) +
            "\n\n--deep re-reads every observation body and re-runs each current finding's check as of its"
            " evaluation time; no difference on an untouched store.")
    print(body)
    write_section("ledger verify --deep", body)


if __name__ == "__main__":
    main()
