"""Server time of every dashboard view at 5,000 terminals, on SQLite and on PostgreSQL.

Builds one simulated store with `clausewatch demo --no-serve` (SQLite), moves a copy to a real
PostgreSQL 15 with `clausewatch store copy`, serves each with a real `clausewatch serve`, signs in as
admin and reads each view's Server-Timing header, as bench_web.py does. The bar: median ≤ 300 ms.

    .venv/bin/python bench/bench_pg_web.py [--terminals 5000 --days 0.25 --rounds 5 --keep DIR]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_web import BIN, LIMIT_MS, VIEWS, build, measure  # noqa: E402
from benchdoc import write_section  # noqa: E402
from pglocal import DURABILITY, local_postgres  # noqa: E402

WHERE_THE_TIME_GOES = (
    "Where the time goes: `/terminals` has the store order and count one row per host (each column's worst status, "
    "the overall status, last seen, over the findings of its seven columns) and reads the findings and facts of the "
    "shown 100 hosts only. A search (`?q=`) matches in the database, in a table of each host's lower-cased search "
    "texts (id, name, addresses, version; SQLite migration 14, PostgreSQL 7), remade only for the hosts that sent "
    "a changed heartbeat or identity since the last search (found by the observations' numbers; the warm-up round "
    "makes every host's once). `/` counts the findings by control, site and status from a covering index "
    "(still one entry per finding) and reads the last day's status changes from an index of them alone, "
    "first findings left out. `/controls/…` orders and counts the control's findings by status without their "
    "values and reads the evidence of the 200 shown only; `/lifecycle` reads every host's newest data scan once. "
    "With the engine's sweep in the same process, every view waits for it in turn.")


def copy_to(db: Path, url: str) -> float:
    started = time.monotonic()
    subprocess.run([str(BIN), "store", "copy", "--from", str(db), "--to", url], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def table(sq: dict[str, list[float]], pg: dict[str, list[float]], terminals: int) -> tuple[str, bool]:
    lines = [f"| view | SQLite median ms | PostgreSQL median ms | PostgreSQL max ms | PostgreSQL / SQLite |"
             f" median ≤ {LIMIT_MS:.0f} ms (both) |", "|---|---:|---:|---:|---:|---|"]
    ok = True
    for view in VIEWS:
        s, p = statistics.median(sq[view]), statistics.median(pg[view])
        met = max(s, p) <= LIMIT_MS
        ok &= met
        lines.append(f"| `{view}` | {s:.1f} | {p:.1f} | {max(pg[view]):.1f} | {p / s if s else 0:.1f}× | "
                     f"{'yes' if met else '**no**'} |")
    return "\n".join(lines), ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--terminals", type=int, default=5000)
    ap.add_argument("--cameras", type=int, default=100)
    ap.add_argument("--days", type=float, default=0.25)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--keep", type=Path, help="folder to keep (and reuse) the SQLite store")
    ap.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-pg-web-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / f"site-{args.terminals}.db"
    built = build(db, args.days, args.terminals, args.cameras)
    print(f"built the store in {built:.0f} s ({db})", file=sys.stderr)
    sq = measure(db, args.rounds)
    with local_postgres() as pg:
        url = pg.new_database()
        env = {"CLAUSEWATCH_SITE_KEY": str(pg.root / "site-key.pem")}
        copied = copy_to(db, url)
        print(f"copied to PostgreSQL in {copied:.0f} s", file=sys.stderr)
        on_pg = measure(url, args.rounds, env)
    rows, ok = table(sq, on_pg, args.terminals)
    load = os.getloadavg()[0]
    header = (f"{args.terminals:,} terminals and {args.cameras} cameras, a simulated site of {args.days:g} days "
              f"(hourly snapshots), the same store on both backends (`store copy` to PostgreSQL 15 on the same "
              f"machine, {DURABILITY}); load average {load:.1f} when measured. Server time from the Server-Timing "
              f"header of a real `clausewatch serve`, signed in as admin; {args.rounds} rounds after one warm-up. "
              "The engine's sweep runs in the same process meanwhile, as in production: the maxima are requests "
              "that met a sweep.\n\n")
    print(rows)
    if not args.no_doc:
        write_section("web on PostgreSQL", header + rows + f"\n\nEvery view's median within {LIMIT_MS:.0f} ms on "
                      f"both backends: {'yes' if ok else 'NO'}. {WHERE_THE_TIME_GOES}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
