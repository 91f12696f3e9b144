"""Evaluation of 5,000 hosts x 40 controls on PostgreSQL and on SQLite, in full and incremental
after one host's batch; the same workload as bench_engine.py, both backends in one table.

    .venv/bin/python bench/bench_pg_engine.py [--hosts 5000]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import CONTROLS, time_engine  # noqa: E402
from bench_ingest import cpu_seconds  # noqa: E402
from benchdoc import table, write_section  # noqa: E402
from pglocal import DURABILITY, local_postgres  # noqa: E402

from collector.proof.sitekey import SiteKey  # noqa: E402
from collector.store.postgres import PostgresStore  # noqa: E402
from collector.store.sqlite import SqliteStore  # noqa: E402

FULL_S, INCREMENTAL_S = 2.0, 0.050


def on_sqlite(hosts: int) -> dict[str, float]:
    store = SqliteStore(Path(tempfile.mkdtemp(prefix="cw-bench-")) / "engine.db")
    try:
        return time_engine(store, hosts)
    finally:
        store.close()


def on_postgres(hosts: int) -> dict[str, float]:
    with local_postgres() as pg:
        store = PostgresStore(pg.new_database(), site_key=SiteKey.load_or_create(pg.root / "site-key.pem"))
        try:
            return time_engine(store, hosts, lambda: cpu_seconds(pg.proc.pid) if pg.proc else 0.0)
        finally:
            store.close()


def store_cpu_us(t: dict[str, float]) -> str:
    """CPU µs per finding the first round spends beyond its check calls."""
    return f"{(t['first_cpu'] - t['bare_cpu']) / t['first_checks'] * 1e6:.0f}"


def cpu_budget(pg: dict[str, float]) -> str:
    """Why a new site's first round is not within 2 s here: the CPU both processes spend on it, over two cores."""
    total = pg["first_cpu"] + pg["first_db_cpu"]
    server = pg["first_db_cpu"] / pg["first_checks"] * 1e6
    writing = (pg["first_cpu"] - pg["restart_cpu"]) / pg["first_checks"] * 1e6 + server
    return (f"In this run that round took {pg['first_cpu']:.1f} s of this process's CPU and "
            f"{pg['first_db_cpu']:.1f} s of the server's, {total:.1f} s in all: on two cores at least "
            f"{total / 2:.1f} s however well they overlap. Beyond a new leader's round (the same check calls and "
            f"comparisons, nothing written) writing a first finding costs {writing:.0f} µs of CPU in the two "
            f"processes together, {server:.0f} of them the server's on its four rows: within 2 s here both would "
            "have to be about halved, i.e. fewer rows per first finding.")


def rows(sq: dict[str, float], pg: dict[str, float], hosts: int) -> list[list[object]]:
    n = hosts * CONTROLS
    out: list[list[object]] = []
    for key, what, goal in (("first", "full evaluation, first (writes every finding)", f"≤ {FULL_S:g} s"),
                            ("steady", "full evaluation, steady state", f"≤ {FULL_S:g} s"),
                            ("load", "a new leader loads the stored site", ""),
                            ("restart", "full evaluation, new leader's first round (every check asked, "
                                        "findings stored)", f"≤ {FULL_S:g} s"),
                            ("bare", "bare check calls, same work (no store)", ""),
                            ("incremental", "incremental, one host's batch", f"≤ {INCREMENTAL_S * 1000:.0f} ms")):
        limit = INCREMENTAL_S if key == "incremental" else FULL_S
        met = "" if not goal else ("yes" if pg[key] <= limit else "**no**")
        rate = f"{n / pg[key]:,.0f}/s" if key not in ("incremental", "load") else ""
        calls = f"{pg.get(key + '_checks', n):,.0f}" if key != "load" else ""
        out.append([what, f"{sq[key] * 1000:,.1f} ms (CPU {sq[key + '_cpu'] * 1000:,.0f})",
                    f"{pg[key] * 1000:,.1f} ms (CPU {pg[key + '_cpu'] * 1000:,.0f})", f"{pg[key] / sq[key]:.2f}×",
                    calls, rate, goal, met])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=5000)
    ap.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = ap.parse_args()
    sq = on_sqlite(args.hosts)
    pg = on_postgres(args.hosts)
    load = os.getloadavg()[0]
    body = (f"{args.hosts:,} hosts × {CONTROLS} controls = {args.hosts * CONTROLS:,} evaluations, the workload of "
            f"`bench/bench_engine.py` on both backends in one run; load average {load:.1f} when measured. "
            f"PostgreSQL 15 on the same machine ({DURABILITY}). Wall time, with the CPU time of the benchmark's "
            "own process in brackets (the database server's is not in it): on this shared machine the wall time "
            "of one run can be several times its CPU time.\n\n"
            + table(["what", "SQLite", "PostgreSQL", "PostgreSQL / SQLite", "check calls", "PostgreSQL rate",
                     "goal (PostgreSQL)", "met"], rows(sq, pg, args.hosts))
            + "\n\nA steady sweep asks again only the checks whose verdict can have changed since they were last "
              f"asked: {pg['steady_checks']:,.0f} of {args.hosts * CONTROLS:,} here, those that read the clock (the "
              "agent's silence, the age of antivirus signatures and backups); any other verdict holds until an "
              "observation it reads changes or turns stale (`Result.holds_until`, rules/evaluate.py). What is "
              "left is the loop over every (host, control) and recording the findings whose value moved with "
              "the clock (each agent's silence). The bare check calls ask all of them, as every sweep did before. "
              "A full evaluation in the literal sense is the first round of a collector that comes to lead the "
              "engine (the lease passed to it, or a restart) over a stored site: it reads the latest observations "
              "and the current findings from the store (the load row, before the round), holds no verdict yet, and "
              f"so asks every check ({pg['restart_checks']:,.0f} calls: every (host, control) with something to "
              "judge) and compares each verdict with the finding stored, recording only those that moved "
              f"({pg['restart_recorded']:,.0f} here, each agent's silence; none changes status). Its checks are "
              "faster than they were: a stored observation's time is read back with the standard library's offset, "
              "which checks compare and subtract several times faster than pydantic's (the check calls and the "
              "loading both gain), the held verdicts are looked up once per subject and each control's freshness is "
              "parsed once. Spreading the check calls over the cores (a pool of processes) was left out: on two "
              "cores with the database and the neighbours' work also running, a second process would take the "
              "core the database and the recording need, and the verdicts would have to come back across a pipe. "
              "The incremental round re-judges only the changed host and the hosts sharing a signed-in person "
              "with it (the cross-subject control joins hosts by person), so it stays flat as the site grows. "
              f"The first full evaluation writes {pg['first_checks']:,.0f} findings (one per check call), their "
              "intervals, ledger entries and events, each finding's first status being a change; it records them "
              "up to 10,000 to a transaction, so it holds the store's write lock for one part at a time (ingest goes "
              "on between parts), and on SQLite each part fits the page cache, which one transaction of all of them "
              "did not (about 14 s of CPU then). The parts are written on a thread of their own while the engine "
              "judges the next (a part goes as soon as 1,000 changes wait and the thread is idle, and grows while it "
              "writes). The two threads share the interpreter, so what overlaps is the writer's waiting on the "
              "database: the first round took about a sixth less wall time on PostgreSQL, and a tenth less on "
              "SQLite, than with every part written on the judging thread (when measured, in runs alternating "
              "between the two at load about 2). On PostgreSQL all four kinds of row of a part go by binary COPY: "
              "findings the engine knew none of straight into their table (through a staging table and a replace "
              "only when another writer stored one of those keys meanwhile), and each part is encoded, its ledger "
              "rows chained onto the head the parts before will leave, on the judging thread as it is handed to the "
              "writer, which then mostly waits on the database (rows chained ahead are taken only if the head "
              "under the writers' lock is the one they follow, else chained again); while the writer runs, the "
              "interpreter switches threads every 0.5 ms instead of 5, as the writer waits on the server a score "
              "of times per part. Against the code before, in runs alternating between the two: a new site's "
              "first round 6.7-8.9 to 5.0-6.8 s wall (load 1-2.5), the database's CPU 21-26 to 17-20 µs per "
              "finding. Each finding's value and evidence are encoded "
              "once, for its row and its ledger entry, whose body is joined around them. The database indexes only "
              "what a statement reads (PostgreSQL migration 11): status indexes of findings and intervals hold only "
              "failing and unknown rows, events are indexed by type only where they are not status changes (the "
              "events page takes each kind's newest rows from its own index), and no index by interval start, which "
              "no statement chose: the database's CPU per finding of a new site's first round 19 to 14 µs (medians "
              "of runs alternating with the code before). What is left is the database's writing of four rows per "
              "finding (with no secondary index at all it would still be about 11 µs) and, on the judging thread, "
              "encoding (about 6 µs per finding), the check calls (5) and the garbage collector walking what the "
              "engine holds (about 2.5; pausing it during the round only moved that work to one longer pause, as "
              "almost everything the round makes outlives it): reaching 2 s on two shared cores would need both "
              "about halved, e.g. by one ledger entry per part of first findings. Most of the round's time "
              f"is the store's: encoding, hashing and writing each change, {store_cpu_us(sq)} µs of CPU per "
              f"finding on SQLite and {store_cpu_us(pg)} µs on PostgreSQL "
              "beyond the check calls (the first round's CPU less the bare calls', per finding); the database "
              f"server spent {pg['first_db_cpu'] / pg['first_checks'] * 1e6:.0f} µs of CPU per finding on them. "
              + cpu_budget(pg))
    print(body)
    if not args.no_doc:
        write_section("evaluation on PostgreSQL", body)


if __name__ == "__main__":
    main()
