"""Server time of every dashboard view on a site scaled to 500 terminals and 100 cameras.

Builds two simulated stores with `clausewatch demo --no-serve` (the default 20-terminal site as the
baseline, and the scaled one), serves each with a real `clausewatch serve`, signs in as admin and
reads each view's Server-Timing header. Prints a table and rewrites the `## web` section of
docs/benchmarks.md. The bar: no view over 300 ms at scale.

    .venv/bin/python bench/bench_web.py [--days 2] [--rounds 7] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchdoc import load_note, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "clausewatch"
LIMIT_MS = 300.0
PASSWORD = "bench password 1"
VIEWS = ("/", "/?status=fail", "/terminals", "/terminals?sort=usb&order=desc", "/terminals?q=T01",
         "/terminals/T004", "/cameras", "/machine-room", "/machine-room?hours=720", "/lifecycle", "/alerts",
         "/evidence", "/admin", "/controls/USB-BLOCK", "/subjects/host/T004")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(db: Path, days: float, terminals: int, cameras: int) -> float:
    if db.exists():
        return 0.0
    started = time.monotonic()
    subprocess.run([str(BIN), "demo", "--no-serve", "--db", str(db), "--days", str(days),
                    "--terminals", str(terminals), "--cameras", str(cameras)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sys.path.insert(0, str(ROOT))
    from collector import auth
    from collector.store.sqlite import SqliteStore

    store = SqliteStore(db)
    auth.add_user(store, "bench", "admin", PASSWORD, actor="bench")
    store.close()
    return time.monotonic() - started


def serve(db: Path | str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """A `clausewatch serve` of the store `db` (a path or a postgresql:// URL) on a free loopback port."""
    port = free_port()
    proc = subprocess.Popen([str(BIN), "serve", "--db", str(db), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("collector did not start")


def server_ms(resp: httpx.Response) -> float:
    m = re.search(r"dur=([\d.]+)", resp.headers.get("server-timing", ""))
    if resp.status_code != 200 or not m:
        raise SystemExit(f"{resp.request.url}: HTTP {resp.status_code}, no Server-Timing")
    return float(m.group(1))


def measure(db: Path | str, rounds: int, env: dict[str, str] | None = None,
            views: Sequence[str] = VIEWS) -> dict[str, list[float]]:
    proc, url = serve(db, env)
    try:
        with httpx.Client(base_url=url, timeout=60) as c:
            c.post("/login", data={"username": "bench", "password": PASSWORD})
            for view in views:  # first request compiles templates and warms caches
                server_ms(c.get(view))
            out: dict[str, list[float]] = {v: [] for v in views}
            for _ in range(rounds):
                for view in views:
                    out[view].append(server_ms(c.get(view)))
            return out
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def table(base: dict[str, list[float]], scaled: dict[str, list[float]]) -> tuple[str, bool]:
    lines = ["| view | 20 terminals median ms | 500 terminals median ms | 500 terminals max ms | ratio | ≤ 300 ms |",
             "|---|---:|---:|---:|---:|---|"]
    ok = True
    for view in VIEWS:
        b, s = statistics.median(base[view]), statistics.median(scaled[view])
        worst = max(scaled[view])
        ok &= worst <= LIMIT_MS
        lines.append(f"| `{view}` | {b:.1f} | {s:.1f} | {worst:.1f} | {s / b if b else 0:.1f}× | "
                     f"{'yes' if worst <= LIMIT_MS else '**no**'} |")
    return "\n".join(lines), ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=2)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--keep", type=Path, help="folder to keep (and reuse) the built stores")
    ap.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-web-"))
    folder.mkdir(parents=True, exist_ok=True)
    small, big = folder / "site-20.db", folder / "site-500.db"
    t_small = build(small, args.days, 20, 6)
    t_big = build(big, args.days, 500, 100)
    print(f"built stores in {t_small:.0f} s and {t_big:.0f} s ({folder})", file=sys.stderr)
    base, scaled = measure(small, args.rounds), measure(big, args.rounds)
    rows, ok = table(base, scaled)
    header = (f"{load_note().capitalize()}. Server time from the "
              f"Server-Timing header of a real `clausewatch serve`, signed in as admin; {args.rounds} rounds after "
              f"one warm-up, simulated site of {args.days:g} days (hourly snapshots). Baseline: the default "
              f"site (20 terminals, 6 cameras); scaled: 500 terminals, 100 cameras. The engine's sweep runs in the "
              f"same process meanwhile, as in production: the maxima are requests that "
              f"met a sweep.\n\n")
    print(rows)
    if not args.no_doc:
        write_section("web", header + rows + f"\n\nEvery view within {LIMIT_MS:.0f} ms: {'yes' if ok else 'NO'}.")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
