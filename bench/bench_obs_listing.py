"""A first page of `GET /api/v1/observations?kind=X` (store.observations without a subject) on a store
of several years of observations, SQLite and PostgreSQL, against the walk by time that served it before.

    .venv/bin/python bench/bench_obs_listing.py [--rows 600000] [--hosts 2000] [--no-doc]

The rows are written directly in bulk (no ingest): hosts observed in 30 common kinds over three years,
one rare kind seen only in the first year, one kind never seen.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchdoc import table, write_section  # noqa: E402
from pglocal import DURABILITY, local_postgres  # noqa: E402

from collector.proof.sitekey import SiteKey  # noqa: E402
from collector.store.observation_rows import observation_body, readable_observations  # noqa: E402
from collector.store.postgres import PostgresStore  # noqa: E402
from collector.store.sqlite import SqliteStore  # noqa: E402
from rules.model import Observation  # noqa: E402

END = datetime(2026, 12, 1, tzinfo=UTC)
YEARS = 3
COMMON = [f"common.k{i:02d}" for i in range(30)]
RARE, ABSENT = "rare.kind", "absent.kind"
RARE_ROWS = 300
PAGE = 100


def _body_template(kind: str) -> bytes:
    """A stored body of `kind` with its id, host and time as named fields, to write millions of them by formatting."""
    o = Observation(id="IDIDIDIDID", source="agent", subject_kind="host", subject_id="HOSTHOST", kind=kind,
                    observed_at=END, payload={"state": "ok", "values": list(range(12))})
    body = observation_body(o).replace(b"%", b"%%")
    return body.replace(b"IDIDIDIDID", b"%(id)s").replace(b"HOSTHOST", b"%(host)s").replace(
        END.isoformat().encode(), b"%(at)s")


def generated_rows(n: int, hosts: int, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    """(rowid, id, source, site, subject_kind, subject_id, kind, key, observed_at, received_at, seq, batch, body)
    in time order over the last YEARS years: the rare kind's rows all in the first year."""
    rnd = random.Random(seed)
    start = (END - timedelta(days=365 * YEARS)).timestamp()
    span = END.timestamp() - start
    times = sorted(start + rnd.random() * span for _ in range(n))
    rare_at = set(rnd.sample(range(n // YEARS), RARE_ROWS))
    templates = {k: _body_template(k) for k in [*COMMON, RARE]}
    for i, t in enumerate(times, start=1):
        kind = RARE if i - 1 in rare_at else COMMON[rnd.randrange(len(COMMON))]
        host = f"h{rnd.randrange(hosts):05d}"
        oid = f"00000000-0000-4000-8000-{i:012d}"
        at = datetime.fromtimestamp(t, UTC).isoformat().encode()
        body = templates[kind] % {b"id": oid.encode(), b"host": host.encode(), b"at": at}
        yield i, oid, "agent", "default", "host", host, kind, "", t, t, None, 1, body


def build_sqlite(path: Path, n: int, hosts: int) -> SqliteStore:
    SqliteStore(path).close()
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    with conn:
        conn.executemany("INSERT INTO observations (rowid, id, source, site, subject_kind, subject_id, kind, key,"
                         " observed_at, received_at, seq, batch, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                         generated_rows(n, hosts))
        _derive_tables(conn, n, "SELECT subject_kind, subject_id, kind, key, max(rowid), max(observed_at)"
                                " FROM observations GROUP BY 1, 2, 3, 4")
    conn.execute("ANALYZE")
    conn.close()
    return SqliteStore(path)


def _derive_tables(conn: Any, n: int, latest_select: str) -> None:
    """latest, subjects and the last number, as ingest would have left them."""
    conn.execute("INSERT INTO latest (subject_kind, subject_id, kind, key, obs_rowid, observed_at) " + latest_select)
    conn.execute("INSERT INTO subjects (kind, id, site, first_seen, last_seen) SELECT subject_kind, subject_id,"
                 " 'default', min(observed_at), max(observed_at) FROM observations GROUP BY 1, 2")
    conn.execute(f"INSERT INTO meta VALUES ('observations.last_num', '{n}')")


def build_postgres(url: str, root: Path, n: int, hosts: int) -> PostgresStore:
    PostgresStore(url, site_key=SiteKey.load_or_create(root / "site-key.pem")).close()
    import psycopg

    with psycopg.connect(url) as conn:
        with conn.cursor().copy("COPY observations (rowid, id, source, site, subject_kind, subject_id, kind, key,"
                                " observed_at, received_at, seq, batch, body) FROM STDIN") as copy:
            for row in generated_rows(n, hosts):
                copy.write_row(row)
        _derive_tables(conn, n, "SELECT DISTINCT ON (subject_kind, subject_id, kind, key) subject_kind, subject_id,"
                                " kind, key, rowid, observed_at FROM observations"
                                " ORDER BY subject_kind, subject_id, kind, key, observed_at DESC")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return PostgresStore(url, site_key=SiteKey.load_or_create(root / "site-key.pem"))


def time_walk(store: Any, kind: str, since: datetime | None, until: datetime | None, limit: int) -> list[Any]:
    """The listing as it was: every observation by time, newest first, filtered by kind."""
    args: list[Any] = [kind]
    sql = "SELECT body, received_at, NULL, NULL, NULL, NULL, NULL FROM observations WHERE kind = ?"
    if since:
        sql, args = sql + " AND observed_at >= ?", [*args, since.timestamp()]
    if until:
        sql, args = sql + " AND observed_at < ?", [*args, until.timestamp()]
    rows = store.read.execute(sql + " ORDER BY observed_at DESC LIMIT ?", [*args, limit]).fetchall()
    return readable_observations(store._rebuilt(rows))


def cases() -> list[tuple[str, str, datetime | None, datetime | None]]:
    year = timedelta(days=365)
    return [("rare kind", RARE, None, None), ("common kind", COMMON[0], None, None),
            ("absent kind", ABSENT, None, None),
            ("rare kind, last 90 days", RARE, END - timedelta(days=90), None),
            ("rare kind, until 2 years ago", RARE, None, END - 2 * year),
            ("common kind, a week a year ago", COMMON[0], END - year - timedelta(days=7), END - year)]


def median_ms(call: Callable[[], Any], rounds: int) -> tuple[float, int]:
    times, found = [], 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        found = len(call())
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, found


def measure(store: Any, rounds: int) -> list[list[str]]:
    out = []
    for what, kind, since, until in cases():
        # old and new in turn, each after the other has warmed the cache
        old_ms, old_n = median_ms(partial(time_walk, store, kind, since, until, PAGE), rounds)
        new_ms, new_n = median_ms(partial(store.observations, kind=kind, since=since, until=until, limit=PAGE),
                                  rounds)
        out.append([what, f"{old_n}", f"{old_ms:,.1f} ms", f"{new_ms:,.1f} ms" if new_n == old_n else "differs"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=600_000)
    ap.add_argument("--hosts", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", choices=["sqlite", "postgresql"])
    ap.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = ap.parse_args()
    results: dict[str, list[list[str]]] = {}
    if args.only != "postgresql":
        t0, folder = time.perf_counter(), Path(tempfile.mkdtemp(prefix="cw-bench-"))
        store = build_sqlite(folder / "obs.db", args.rows, args.hosts)
        print(f"SQLite store built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        try:
            results["SQLite"] = measure(store, args.rounds)
        finally:
            store.close()
            shutil.rmtree(folder)
    if args.only != "sqlite":
        with local_postgres() as pg:
            t0 = time.perf_counter()
            store = build_postgres(pg.new_database(), pg.root, args.rows, args.hosts)
            print(f"PostgreSQL store built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            try:
                results["PostgreSQL"] = measure(store, args.rounds)
            finally:
                store.close()
    rows = [[backend, *r] for backend, rs in results.items() for r in rs]
    body = (f"A first page ({PAGE} rows) of observations of one kind, no subject named, on a store of "
            f"{args.rows:,} observations of {args.hosts:,} hosts over {YEARS} years ({len(COMMON)} common kinds, "
            f"one rare kind with {RARE_ROWS} rows in the first year only, one kind never seen); median of "
            f"{args.rounds} runs, wall time, load average {os.getloadavg()[0]:.1f}. PostgreSQL 15 on the same "
            f"machine ({DURABILITY}).\n\n"
            + table(["backend", "page", "rows", "walk by time (before)", "store.observations"], rows))
    print(body)
    if not args.no_doc:
        write_section("observations of one kind", body)


if __name__ == "__main__":
    main()
