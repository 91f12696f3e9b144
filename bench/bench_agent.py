"""Agent numbers: udev add -> authorized=0 latency, `agent once` duration, idle RSS and CPU.

    .venv/bin/python bench/bench_agent.py [--events 1000] [--idle-s 600]

Prints a table and rewrites the `## agent` section of docs/benchmarks.md. Each number is set
against a baseline measured in the same run on the same machine.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "clausewatch"
STICK = ROOT / "tests" / "fixtures" / "agent" / "usb" / "sandisk-cruzer.umockdev"
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def udev_latency(events: int) -> dict:
    r = subprocess.run(["umockdev-wrapper", sys.executable, "-m", "tests.agents.umockdev_bed", "bench",
                        "--events", str(events), str(STICK)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise SystemExit(f"umockdev bench failed: {r.stderr[-500:]}")
    return json.loads(r.stdout)


def write_baseline(events: int) -> float:
    """p99 of the bare sysfs write (open, write "0", close) on a temp file: the floor of any enforcer."""
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "authorized"
        samples = []
        for _ in range(events):
            t = time.perf_counter()
            with open(f, "w") as fh:
                fh.write("0")
            samples.append((time.perf_counter() - t) * 1000)
    return statistics.quantiles(samples, n=100)[98]


def timed(argv: list[str], runs: int) -> float:
    best = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(argv, capture_output=True, timeout=120)
        best.append(time.perf_counter() - t)
    return statistics.median(best)


def proc_sample(pid: int) -> tuple[float, float]:
    """(RSS MiB, CPU seconds) of a process from /proc."""
    rss_kb = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                  if line.startswith("VmRSS:"))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return rss_kb / 1024, (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def idle(argv: list[str], window_s: float, warmup_s: float = 10.0) -> tuple[float, float]:
    """Peak RSS (MiB) over the window and CPU in % of one core, after a warm-up (first probe round)."""
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(warmup_s)
        _, cpu0 = proc_sample(p.pid)
        t0, peak = time.monotonic(), 0.0
        while time.monotonic() - t0 < window_s:
            time.sleep(1)
            peak = max(peak, proc_sample(p.pid)[0])
        _, cpu1 = proc_sample(p.pid)
        return peak, (cpu1 - cpu0) / (time.monotonic() - t0) * 100
    finally:
        p.terminate()
        p.wait(30)


def start_collector(d: Path) -> tuple[str, str, subprocess.Popen]:
    """A real collector on a free loopback port, so the idle agent enrolls and ships as in production."""
    import socket
    import urllib.request

    from collector import auth
    from collector.store.sqlite import SqliteStore

    store = SqliteStore(d / "cw.db")
    _, secret = auth.create_enroll_secret(store)
    store.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(BIN), "serve", "--db", str(d / "cw.db"), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            return url, secret, proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("collector did not start")


def update_doc(section: str) -> None:
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    start = text.find("## agent\n")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + ("\n" + text[end + 1:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1000)
    ap.add_argument("--idle-s", type=float, default=600.0)  # the target names 10 minutes
    args = ap.parse_args()

    lat = udev_latency(args.events)
    floor_ms = write_baseline(args.events)
    once_s = timed([str(BIN), "agent", "once", "--json"], 3)
    help_s = timed([str(BIN), "--help"], 3)
    with tempfile.TemporaryDirectory() as d:
        url, secret, collector = start_collector(Path(d))
        try:
            conf = Path(d) / "agent.toml"
            conf.write_text(f'state_dir = "{d}/agent"\ninterval_s = 60\n[collector]\nurl = "{url}"\n'
                            f'enroll_secret = "{secret}"\ntoken_file = "{d}/agent/token"\n')
            rss, cpu = idle([str(BIN), "agent", "run", "--config", str(conf)], args.idle_s)
        finally:
            collector.terminate()
            collector.wait(30)
    base_rss, _ = idle([sys.executable, "-c", "import time; time.sleep(3600)"], 3, warmup_s=1)

    rows = [
        ("udev add -> authorized=0, p99", f"{lat['p99_ms']:.2f} ms", "<= 50 ms",
         f"{lat['p99_ms'] / floor_ms:.0f}x bare write ({floor_ms:.3f} ms)",
         f"{lat['events']} events, {lat['missed']} missed, p50 {lat['p50_ms']:.2f} ms, max {lat['max_ms']:.2f} ms"),
        ("`agent once` on this machine", f"{once_s:.2f} s", "<= 5 s", f"{once_s / help_s:.1f}x `clausewatch --help`",
         "median of 3"),
        ("idle agent RSS (peak)", f"{rss:.1f} MiB ({rss * 1.048576:.1f} MB)", "<= 40 MB",
         f"{rss / base_rss:.1f}x bare Python", f"{args.idle_s:.0f} s window, enrolled, shipping to a local collector"),
        ("idle agent CPU", f"{cpu:.2f} % of a core", "<= 1 %", "",
         f"{args.idle_s:.0f} s window after the first round"
         + ("" if args.idle_s >= 600 else "; 10-min figure extrapolated (rounds every 60 s)")),
    ]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0]
    lines = ["## agent\n", f"{when}, {platform.machine()}, {os.cpu_count()} cores, load average {load:.1f} at the end "
             "(the machine is shared with other work).\n",
             "| measure | result | target | against baseline | note |", "|---|---|---|---|---|"]
    lines += [f"| {' | '.join(r)} |" for r in rows]
    window = ("" if args.idle_s >= 600 else "The idle window is shorter than the 10 minutes named by the target; "
              "CPU per minute repeats with each 60 s round, so the ratio holds. ")
    lines.append("\nLatency is from the umockdev uevent to the enforcer's write, through the real pyudev monitor "
                 "(`tests/agents/umockdev_bed.py bench`). The idle agent is the resident process "
                 "(`python -m agents run`): it holds no pydantic models (the configuration is validated "
                 "by a short-lived child at start, observations are plain records); with the models "
                 "loaded it measured 37.9 MiB peak over the same 600 s window on this machine. " + window + "Under "
                 "contention the latency tail follows the machine's own (compare the bare-write baseline): "
                 "the p50 stays at a few ms, the p99 can pass 50 ms when the load is several times the cores; "
                 "the systemd unit runs the agent at `Nice=-5` for that reason.\n")
    section = "\n".join(lines)
    print(section)
    update_doc(section)


if __name__ == "__main__":
    main()
