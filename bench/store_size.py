"""Store size per terminal-day on a simulated site (`clausewatch demo --no-serve`) at the agents' default
cadence (every probe every minute), with the site's cameras, UPS, climate sensors and doors counted in:
inside the raw window (everything as received), and after compaction (every simulated day beyond the
window: the steady state of a store years old). Everything is counted: the database after VACUUM
(findings, intervals, ledger, kept observations, compaction proofs) and the evidence files.
Updates the `## store size` section of docs/benchmarks.md."""
from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchdoc import table, write_section  # noqa: E402

GOAL_RAW, GOAL_COMPACTED = 1_000_000, 100_000  # bytes per terminal-day


def _files_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def _vacuumed(db: Path, out: Path) -> int:
    """The database's size with no free pages: what the same rows take on a disk of their own."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("VACUUM INTO ?", (str(out),))
    finally:
        conn.close()
    return out.stat().st_size


def _table_bytes(db: Path) -> dict[str, int]:
    """Bytes per table with its indexes (dbstat); empty where this sqlite3 lacks dbstat."""
    conn = sqlite3.connect(db)
    try:
        owner = {name: tbl for name, tbl in conn.execute("SELECT name, tbl_name FROM sqlite_master")}
        out: dict[str, int] = {}
        for name, size in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            table_name = owner.get(name, name)
            out[table_name] = out.get(table_name, 0) + size
        return out
    except sqlite3.OperationalError:
        return {}
    finally:
        conn.close()


NOTE = ("Compaction removes no ledger entry: the ledger holds one `batches.sealed` entry per seal interval (60 s)"
        " for all the batches of that interval, about 300 bytes with its row (the simulation ingests one batch per"
        " snapshot for the whole site; agents send one per terminal and minute). Each batch is a `batches` row of"
        " about 60 bytes (number, count, Merkle root, arrival) until compaction empties it; then its seal keeps the"
        " roots of the subtrees such rows leave (`pruned_seals`)."
        " At a one-minute step the simulation also has someone plug a USB stick into each terminal about every"
        " 20 minutes; beyond the window a block event (an event kind no check reads, rules/kinds.yaml `event`) is"
        " kept only as the first of its terminal's day or when a finding cites it, and `event_days` counts the rest"
        " per terminal and day.")
CAMERA_KINDS = ("camera.health", "zone.coverage", "camera.retention", "camera.floorplan")


def _kind_bytes(db: Path, kinds: tuple[str, ...]) -> int:
    """The bytes of these kinds' stored values, full rows and repeats (`store stats`' measure: no page or
    index overhead)."""
    from collector.store.stats import kind_sizes

    conn = sqlite3.connect(db)
    try:
        return sum(k.bytes for k in kind_sizes(conn) if k.kind in kinds)
    finally:
        conn.close()


def main() -> None:
    from collector.cli.demo import build_history
    from collector.store.compaction import compact
    from collector.store.files import evidence_dir_of
    from collector.store.retention import load_policy
    from collector.store.sqlite import SqliteStore
    from rules.catalog import default_catalog

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--days", type=float, default=3)
    ap.add_argument("--terminals", type=int, default=10)
    ap.add_argument("--cameras", type=int, default=3)
    ap.add_argument("--step-minutes", type=int, default=1)
    ap.add_argument("--no-write", action="store_true", help="Print only; leave docs/benchmarks.md alone.")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cw-bench-size-"))
    db = work / "site.db"
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    t = time.perf_counter()
    n = build_history(db, args.days, args.terminals, args.cameras, args.step_minutes, end)
    build_s = time.perf_counter() - t
    terminal_days = args.terminals * args.days
    evidence_raw = _files_bytes(evidence_dir_of(db))
    raw_db = _vacuumed(db, work / "raw.db")
    camera_raw = _kind_bytes(db, CAMERA_KINDS)
    raw_parts = _table_bytes(work / "raw.db")

    store = SqliteStore(db)
    t = time.perf_counter()
    # a day past the end with no raw window: every simulated day is compacted, as a store's old days are
    result = compact(store, load_policy().with_raw_days(0), list(default_catalog()), end + timedelta(days=1))
    compact_s = time.perf_counter() - t
    store.close()
    after_db = _vacuumed(db, work / "compacted.db")
    evidence_after = _files_bytes(evidence_dir_of(db))
    parts = _table_bytes(work / "compacted.db")
    camera_after = _kind_bytes(db, CAMERA_KINDS)
    camera_days = args.cameras * args.days
    raw_per = (raw_db + evidence_raw) / terminal_days
    after_per = (after_db + evidence_after) / terminal_days

    rows: list[list[object]] = [["inside the raw window", f"{n:,}", f"{(raw_db + evidence_raw) / 1e6:,.1f} MB",
             f"{raw_per / 1e3:,.1f} KB", f"≤ {GOAL_RAW // 1000:,} KB", "yes" if raw_per <= GOAL_RAW else "no"],
            ["after compaction", f"{n - result.dropped:,}", f"{(after_db + evidence_after) / 1e6:,.2f} MB",
             f"{after_per / 1e3:,.1f} KB", f"≤ {GOAL_COMPACTED // 1000} KB",
             "yes" if after_per <= GOAL_COMPACTED else "no"]]
    names = sorted(set(raw_parts) | set(parts), key=lambda k: (-parts.get(k, 0), -raw_parts.get(k, 0)))
    shown = [k for k in names if max(raw_parts.get(k, 0), parts.get(k, 0)) / terminal_days >= 1000][:10]
    part_rows: list[list[object]] = [[name, f"{raw_parts.get(name, 0) / terminal_days / 1e3:,.1f} KB",
                                      f"{parts.get(name, 0) / terminal_days / 1e3:,.1f} KB"] for name in shown]
    part_rows.append(["evidence files", f"{evidence_raw / terminal_days / 1e3:,.1f} KB",
                      f"{evidence_after / terminal_days / 1e3:,.1f} KB"])
    kept = ", ".join(f"{v:,} {k}" for k, v in result.kept.items())
    load = os.getloadavg()[0]
    body = (f"{args.days:g} simulated days, {args.terminals} terminals, {args.cameras} cameras with the site's UPS,"
            f" climate sensors and doors, a snapshot every {args.step_minutes} min (the agents' default cadence);"
            f" written in {build_s:.0f} s, compacted in {compact_s:.1f} s; load average {load:.1f} when measured."
            " Bytes are the database after VACUUM plus the evidence files, divided by terminal-days.\n\n"
            + table(["store", "observations", "size", "per terminal-day", "goal", "met"], rows)
            + "\n\nPer terminal-day, the largest parts (tables with their indexes), largest after compaction first:\n\n"
            + table(["part", "raw window", "after compaction"], part_rows)
            + f"\n\nKept beyond the window: {kept}; {result.batches_partly_kept:,} batches partly kept"
            f" ({result.proof_bytes / terminal_days / 1e3:,.1f} KB of proofs per terminal-day),"
            f" {result.batches_emptied:,} emptied. The cameras' own observations (health, zone coverage, retention,"
            f" floor plan; values of full rows and repeats) take {camera_raw / camera_days / 1e3:,.0f} KB per"
            f" camera-day as received and {camera_after / camera_days / 1e3:,.1f} KB after compaction.\n\n" + NOTE)
    print(body)
    if not args.no_write:
        write_section("store size", body)


if __name__ == "__main__":
    main()
