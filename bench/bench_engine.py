"""Evaluation: 500 hosts x 40 controls in full, and incremental after one host's batch.
Ledger verification speed. Baselines: a bare loop over the same check calls (engine overhead
ratio) and hashlib over the same bytes (ledger verify ratio)."""
from __future__ import annotations

import hashlib
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchdoc import load_note, table, write_section  # noqa: E402

from collector.demo import SimSite, snapshot  # noqa: E402
from collector.engine import Engine  # noqa: E402
from collector.heap import settle_heap  # noqa: E402
from collector.store.base import Store  # noqa: E402
from collector.store.sqlite import SqliteStore  # noqa: E402
from rules.catalog import default_catalog  # noqa: E402
from rules.evaluate import evaluate_one  # noqa: E402
from rules.model import Control  # noqa: E402
from rules.registry import load_checks  # noqa: E402

HOSTS, CONTROLS = 500, 40


class Timed:
    """Wall and CPU seconds of a block (CPU of this process: on a shared machine the wall clock also
    counts the neighbours' work)."""

    def __enter__(self) -> Timed:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self._wall, time.process_time() - self._cpu

    def ms(self, digits: int = 0) -> tuple[str, str]:
        return f"{self.wall * 1000:.{digits}f} ms", f"{self.cpu * 1000:.{digits}f} ms"


def forty_host_controls() -> list[Control]:
    """The catalog's host controls, repeated under new ids until there are 40 of them."""
    base = [c for c in default_catalog() if c.subject == "host"]
    out: list[Control] = []
    i = 0
    while len(out) < CONTROLS:
        c = base[i % len(base)]
        out.append(c.model_copy(update={"id": f"{c.id}-{i // len(base)}"}) if i >= len(base) else c)
        i += 1
    return out


def timed(out: dict[str, float], name: str, work: Callable[[], object], engine: Engine | None = None,
          db_cpu: Callable[[], float] | None = None) -> None:
    """Wall seconds of `work` as out[name], this process's CPU seconds as out[name + "_cpu"], with an
    `engine` the check calls it made as out[name + "_checks"], and with `db_cpu` (CPU seconds so far of a
    database server) the server's share as out[name + "_db_cpu"]."""
    calls = engine.checks_run if engine else 0
    db = db_cpu() if db_cpu else 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    out[name], out[f"{name}_cpu"] = time.perf_counter() - wall, time.process_time() - cpu
    if engine is not None:
        out[f"{name}_checks"] = engine.checks_run - calls
    if db_cpu is not None:
        out[f"{name}_db_cpu"] = db_cpu() - db


def time_engine(store: Store, hosts: int, db_cpu: Callable[[], float] | None = None) -> dict[str, float]:
    """Seconds of a first and a steady full evaluation of `hosts` hosts x 40 controls, of the bare
    check calls doing the same work, and of an incremental evaluation after one host's batch; with
    `db_cpu`, the database server's CPU seconds in the first evaluation as out["first_db_cpu"]."""
    site = SimSite(terminals=hosts, cameras=6)
    t0 = site.start + timedelta(days=1)
    batch = snapshot(site, t0, sources=["hosts"])
    store.ingest(batch, actor="bench")
    controls = forty_host_controls()
    engine = Engine(store, controls)
    engine.note(batch)
    settle_heap()  # as `clausewatch serve` does once it has started
    out: dict[str, float] = {}
    timed(out, "first", lambda: engine.evaluate(None, now=t0), engine, db_cpu)
    timed(out, "steady", lambda: engine.evaluate(None, now=t0 + timedelta(seconds=30)), engine)
    # a new leader's (or a restarted collector's) first round over the stored site: it loads what the store
    # holds, then asks every check again (no verdict is known to hold) and compares with the stored findings
    loaded: list[Engine] = []
    timed(out, "load", lambda: loaded.append(Engine(store, controls)))
    recorded: list[object] = []
    loaded[0].listeners.append(recorded.extend)
    timed(out, "restart", lambda: loaded[0].evaluate(None, now=t0 + timedelta(seconds=45)), loaded[0])
    out["restart_recorded"] = len(recorded)
    checks = load_checks()

    def bare() -> None:
        for subject, latest in engine.latest.items():
            for c in controls:
                evaluate_one(c, checks[c.check or "manual_evidence"], subject, latest, t0)

    timed(out, "bare", bare)
    one = [o for o in snapshot(site, t0 + timedelta(minutes=1), sources=["hosts"]) if o.subject_id == "T042"]
    store.ingest(one, actor="bench")
    timed(out, "incremental", lambda: engine.evaluate(engine.note(one), now=t0 + timedelta(minutes=1)), engine)
    return out


def bench_engine(tmp: Path) -> list[list[object]]:
    store = SqliteStore(tmp / "engine.db")
    t = time_engine(store, HOSTS)
    store.close()
    n, bare = HOSTS * CONTROLS, t["bare_cpu"]

    def ms(name: str, digits: int = 0) -> list[object]:
        return [f"{t[name] * 1000:.{digits}f} ms", f"{t[name + '_cpu'] * 1000:.{digits}f} ms"]

    def calls(name: str) -> str:
        return f"{t[name + '_checks']:,.0f}"

    return [["full evaluation, first (writes every finding)", *ms("first"), calls("first"),
             f"{n / t['first_cpu']:,.0f}/s", f"{t['first_cpu'] / bare:.1f}×", "≤ 1 s"],
            ["full evaluation, steady state", *ms("steady"), calls("steady"), f"{n / t['steady_cpu']:,.0f}/s",
             f"{t['steady_cpu'] / bare:.1f}×", "≤ 1 s"],
            ["full evaluation, a new leader's first round (findings stored)", *ms("restart"), calls("restart"),
             f"{n / t['restart_cpu']:,.0f}/s", f"{t['restart_cpu'] / bare:.1f}×", "≤ 1 s"],
            ["a new leader loads the stored site (before that round)", *ms("load"), "", "",
             f"{t['load_cpu'] / bare:.1f}×", ""],
            ["bare check calls, same work (baseline)", *ms("bare"), f"{n:,}", f"{n / bare:,.0f}/s", "1.0×", ""],
            ["incremental, one host's batch", *ms("incremental", 1), calls("incremental"), "",
             f"{t['incremental_cpu'] / bare:.2f}×", "≤ 50 ms"]]


def bench_ledger(tmp: Path, entries: int = 300_000) -> list[list[object]]:
    store = SqliteStore(tmp / "ledger.db")
    ts = datetime(2026, 11, 1, tzinfo=UTC)
    with store.write() as conn:
        for i in range(entries):
            store.ledger.append(conn, "user.action", "user:bench", {"i": i, "what": "viewed posture"}, ts=ts)
    store.checkpoint()
    with Timed() as verify:
        report = store.verify_ledger(observations=False)
    assert report.ok and report.entries == entries
    rows = store.read.execute("SELECT body FROM ledger").fetchall()
    with Timed() as bare:
        prev = bytes(32)
        for (body,) in rows:
            prev = hashlib.sha256(prev + body).digest()
    store.close()
    return [["ledger verify (chain + signatures)", f"{verify.wall:.2f} s", f"{verify.cpu:.2f} s",
             f"{entries / verify.cpu:,.0f}/s", f"{verify.cpu / bare.cpu:.1f}×", "≥ 200,000/s"],
            ["bare SHA-256 chain over the same bodies (baseline)", f"{bare.wall:.2f} s", f"{bare.cpu:.2f} s",
             f"{entries / bare.cpu:,.0f}/s", "1.0×", ""]]


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cw-bench-"))
    rows = bench_engine(tmp)
    ledger = bench_ledger(tmp)
    body = (f"{HOSTS} hosts × {CONTROLS} controls = {HOSTS * CONTROLS:,} evaluations, with the service's heap "
            f"settings (start-up objects frozen out of the cyclic collector); {load_note()}. Rates and ratios "
            "are by CPU time of this one process (its wall time also counts the neighbours' work); the "
            "targets are for wall time on an idle machine, which the CPU time approximates. Rates count every "
            "(host, control) a round covers; a steady sweep asks only the checks whose verdict can have changed "
            "since they were last asked (those that read the clock, e.g. the agent's silence; `Result.holds_until` "
            "in rules/evaluate.py), so it makes fewer check calls than the baseline. A collector that comes to lead "
            "the engine (or restarts) holds no verdict yet: its first round asks every check and compares each verdict "
            "with the finding stored, recording only those that moved (each agent's silence).\n\n"
            + table(["what", "wall time", "CPU time", "check calls", "rate (CPU)", "× baseline (CPU)", "target"], rows)
            + "\n\n" + table(["what", "wall time", "CPU time", "rate (CPU)", "× baseline (CPU)", "target"], ledger))
    print(body)
    write_section("evaluation and ledger", body)


if __name__ == "__main__":
    main()
