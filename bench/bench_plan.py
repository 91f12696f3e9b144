"""CPU per observation that a collector spends planning batches (collector/store/drafts.py: the draft read
before the writers' lock, its confirmation under it, the rows added there), old code against new.

Two collectors (two stores on one PostgreSQL database) take turns: while one has drafted its batch,
the other stores a whole batch, so that the first one's confirmation finds what the other wrote
meanwhile, as when both serve at once. Agents' batches (one host, 8 kinds, each batch another agent's)
touch no key of the other's; importer batches (the same 500 hosts each) touch every one, and the
batch is planned again under the lock. Only the thread CPU inside draft_batch, confirmed and extended
counts (their reads from the database included), divided by the observations stored.

    .venv/bin/python bench/bench_plan.py --old /path/to/old/checkout [--rounds 5]

Each round runs the old code and the new one in turn, each in a process of its own (PYTHONPATH), on
databases of their own; medians are reported."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import psycopg

HERE = Path(__file__).resolve().parent
AGENT_WARMUP, AGENT_MEASURED = 50, 60  # batches: one per agent first (their heads), then repeats
IMPORTER_WARMUP, IMPORTER_MEASURED = 2, 40


def _rows_of(batches: list[bytes]) -> list[list[Any]]:
    from collector.auth import Principal
    from collector.ingest import prepare

    admin = Principal("user", "bench", role="admin")
    return [prepare(b, admin, 500) for b in batches]


class PlanningClock:
    """Thread CPU spent in the store's planning steps, summed; wraps them where the store calls them."""

    def __init__(self) -> None:
        import collector.store.drafts as drafts_module
        import collector.store.observations as obs_module

        self.seconds = self.planning = 0.0
        self.replanned = 0
        self.between: Callable[[], object] | None = None  # run once, after the next draft (the other writer)
        self._module = obs_module
        for name in ("draft_batch", "confirmed", "extended"):
            setattr(obs_module, name, self._timed(name, getattr(obs_module, name)))
        drafts_module.plan_batch = self._planning(drafts_module.plan_batch)

    def _planning(self, plan: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            out = plan(*args, **kwargs)
            self.planning += time.thread_time() - start
            return out
        return timed

    def _timed(self, name: str, step: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            out = step(*args, **kwargs)
            self.seconds += time.thread_time() - start
            if name == "confirmed" and out[0].replanned:
                self.replanned += 1
            if name == "draft_batch" and self.between is not None:
                other, self.between = self.between, None
                other()
            return out
        return timed


def _scenario(url: str, batches: list[list[Any]], warmup: int, clock: PlanningClock) -> tuple[float, float, int]:
    """µs of CPU per observation over the batches after `warmup` in the three steps and in plan_batch alone
    (within them), and the batches planned again."""
    from collector.proof.sitekey import SiteKey
    from collector.store.postgres import PostgresStore

    key = SiteKey.load_or_create(Path(os.environ["BENCH_TMP"]) / "site-key.pem")
    a, b = PostgresStore(url, site_key=key), PostgresStore(url, site_key=key)
    try:
        for rows in batches[:warmup]:
            a.ingest_rows(rows, actor="bench")
        clock.seconds, clock.planning, clock.replanned, stored = 0.0, 0.0, 0, 0
        measured = batches[warmup:]
        for i in range(0, len(measured) - 1, 2):
            first, second = measured[i], measured[i + 1]
            clock.between = partial(b.ingest_rows, second, actor="bench")
            stored += a.ingest_rows(first, actor="bench").accepted + len(second)
        return clock.seconds / stored * 1e6, clock.planning / stored * 1e6, clock.replanned
    finally:
        a.close()
        b.close()


def worker(server_port: int) -> None:
    sys.path.insert(0, str(HERE))
    sys.path.append(str(HERE.parent))  # for tests/postgres_server.py: the code measured comes from PYTHONPATH
    from bench_ingest import AGENTS, make_batches

    import collector
    from collector.heap import settle_heap
    from tests.postgres_server import SUPERUSER

    def database(sql: str) -> None:
        with psycopg.connect(f"postgresql://{SUPERUSER}@127.0.0.1:{server_port}/postgres", autocommit=True) as conn:
            conn.execute(sql)
    agents = _rows_of(make_batches(AGENTS, (AGENT_WARMUP + AGENT_MEASURED) * 500))
    importer = _rows_of(make_batches(None, (IMPORTER_WARMUP + IMPORTER_MEASURED) * 500))
    settle_heap()  # as the server does once started (collector/app.py)
    clock = PlanningClock()
    out = {}
    for name, batches, warmup in (("agents", agents, AGENT_WARMUP), ("importer", importer, IMPORTER_WARMUP)):
        db = f"plan_{name}_{os.getpid()}"
        database(f"CREATE DATABASE {db}")
        try:
            out[name] = _scenario(f"postgresql://{SUPERUSER}@127.0.0.1:{server_port}/{db}", batches, warmup, clock)
        finally:
            database(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    print(f"code measured: {Path(collector.__file__).parent.parent}", file=sys.stderr)
    print(json.dumps(out))


def driver(old: Path, rounds: int) -> None:
    sys.path.insert(0, str(HERE))
    import tempfile

    from pglocal import local_postgres

    new = HERE.parent
    results: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    plans: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    replans: dict[str, dict[str, list[int]]] = {"old": {}, "new": {}}
    with local_postgres() as server, tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            for label, tree in (("old", old), ("new", new)) if r % 2 == 0 else (("new", new), ("old", old)):
                env = {**os.environ, "PYTHONPATH": str(tree), "BENCH_TMP": tmp}
                done = subprocess.run([sys.executable, str(HERE / "bench_plan.py"), "--worker", str(server.port)],
                                      env=env, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    raise SystemExit(done.stderr)
                for name, (us, plan_us, redone) in json.loads(done.stdout.strip().splitlines()[-1]).items():
                    results[label].setdefault(name, []).append(us)
                    plans[label].setdefault(name, []).append(plan_us)
                    replans[label].setdefault(name, []).append(redone)
                print(f"round {r + 1} {label}: {done.stdout.strip().splitlines()[-1]} ({done.stderr.strip()})",
                      file=sys.stderr)
    for name in results["old"]:
        for what, got in (("draft, confirm, extend", results), ("plan_batch within them", plans)):
            o, n = statistics.median(got["old"][name]), statistics.median(got["new"][name])
            print(f"{name}: {what}: CPU µs/observation, median of {rounds}: old {o:.1f} -> new {n:.1f}"
                  f" ({(n - o) / o * 100:+.0f}%)")
        print(f"{name}: batches planned again per run: old {replans['old'][name]}, new {replans['new'][name]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, help="a checkout of the code to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)  # the PostgreSQL server's port
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
    elif args.old:
        driver(args.old, args.rounds)
    else:
        parser.error("--old is required")


if __name__ == "__main__":
    main()
