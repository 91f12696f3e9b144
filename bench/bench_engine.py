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
from benchdoc import table, write_section  # noqa: E402

from collector.app import settle_heap  # noqa: E402
from collector.engine import Engine  # noqa: E402
from collector.simulate import SimSite, snapshot  # noqa: E402
from collector.store.base import Store  # noqa: E402
from collector.store.sqlite import SqliteStore  # noqa: E402
from rules.catalog import default_catalog  # noqa: E402
from rules.evaluate import evaluate_one  # noqa: E402
from rules.registry import load_checks  # noqa: E402

HOSTS, CONTROLS = 500, 40


def forty_host_controls():
    """The catalog's host controls, repeated under new ids until there are 40 of them."""
    base = [c for c in default_catalog() if c.subject == "host"]
    out = []
    i = 0
    while len(out) < CONTROLS:
        c = base[i % len(base)]
        out.append(c.model_copy(update={"id": f"{c.id}-{i // len(base)}"}) if i >= len(base) else c)
        i += 1
    return out


def timed(out: dict[str, float], name: str, work: Callable[[], object]) -> None:
    """Wall seconds of `work` as out[name], this process's CPU seconds as out[name + "_cpu"]."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    out[name], out[f"{name}_cpu"] = time.perf_counter() - wall, time.process_time() - cpu


def time_engine(store: Store, hosts: int) -> dict[str, float]:
    """Seconds of a first and a steady full evaluation of `hosts` hosts x 40 controls, of the bare
    check calls doing the same work, and of an incremental evaluation after one host's batch."""
    site = SimSite(terminals=hosts, cameras=6)
    t0 = site.start + timedelta(days=1)
    batch = snapshot(site, t0, sources=["hosts"])
    store.ingest(batch, actor="bench")
    controls = forty_host_controls()
    engine = Engine(store, controls)
    engine.note(batch)
    settle_heap()  # as `clausewatch serve` does once it has started
    out: dict[str, float] = {}
    timed(out, "first", lambda: engine.evaluate(None, now=t0))
    timed(out, "steady", lambda: engine.evaluate(None, now=t0 + timedelta(seconds=30)))
    checks = load_checks()

    def bare() -> None:
        for subject, latest in engine.latest.items():
            for c in controls:
                evaluate_one(c, checks[c.check or "manual_evidence"], subject, latest, t0)

    timed(out, "bare", bare)
    one = [o for o in snapshot(site, t0 + timedelta(minutes=1), sources=["hosts"]) if o.subject_id == "T042"]
    store.ingest(one, actor="bench")
    timed(out, "incremental", lambda: engine.evaluate(engine.note(one), now=t0 + timedelta(minutes=1)))
    return out


def bench_engine(tmp: Path) -> list[list[object]]:
    store = SqliteStore(tmp / "engine.db")
    t = time_engine(store, HOSTS)
    store.close()
    first, steady, bare, incr = t["first"], t["steady"], t["bare"], t["incremental"]
    n = HOSTS * CONTROLS
    return [["full evaluation, first (writes every finding)", f"{first * 1000:.0f} ms", f"{n / first:,.0f}/s", "≤ 1 s"],
            ["full evaluation, steady state", f"{steady * 1000:.0f} ms", f"{n / steady:,.0f}/s", "≤ 1 s"],
            ["bare check calls, same work (baseline)", f"{bare * 1000:.0f} ms", f"{n / bare:,.0f}/s", ""],
            ["incremental, one host's batch", f"{incr * 1000:.1f} ms", "", "≤ 50 ms"]]


def bench_ledger(tmp: Path, entries: int = 300_000) -> list[list[object]]:
    store = SqliteStore(tmp / "ledger.db")
    ts = datetime(2026, 11, 1, tzinfo=UTC)
    with store.write() as conn:
        for i in range(entries):
            store.ledger.append(conn, "user.action", "user:bench", {"i": i, "what": "viewed posture"}, ts=ts)
    store.checkpoint()
    start = time.perf_counter()
    report = store.verify_ledger(observations=False)
    verify_s = time.perf_counter() - start
    assert report.ok and report.entries == entries
    rows = store.read.execute("SELECT body FROM ledger").fetchall()
    start = time.perf_counter()
    prev = bytes(32)
    for (body,) in rows:
        prev = hashlib.sha256(prev + body).digest()
    bare = time.perf_counter() - start
    store.close()
    return [["ledger verify (chain + signatures)", f"{verify_s:.2f} s", f"{entries / verify_s:,.0f}/s", "≥ 200,000/s"],
            ["bare SHA-256 chain over the same bodies (baseline)", f"{bare:.2f} s", f"{entries / bare:,.0f}/s", ""]]


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cw-bench-"))
    rows = bench_engine(tmp) + bench_ledger(tmp)
    body = (f"{HOSTS} hosts × {CONTROLS} controls = {HOSTS * CONTROLS:,} evaluations, with the service's heap "
            "settings (start-up objects frozen out of the cyclic collector).\n\n"
            + table(["what", "time", "rate", "target"], rows))
    print(body)
    write_section("evaluation and ledger", body)


if __name__ == "__main__":
    main()
