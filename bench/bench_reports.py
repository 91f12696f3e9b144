"""Report and bundle-verify timings on the simulated site at scale.

Writes 30 days of simulated history (500 terminals, 100 cameras by default) unless the store
exists, builds the report in every format, verifies the bundle, prints a table and updates the
`## reports` section of docs/benchmarks.md. Baseline: gathering the report data from the store
(what every format starts with); each format is also given as a ratio to it."""
from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIMITS_S = {"all formats": 60.0, "verify bundle": 10.0}


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def _ensure_history(db: Path, days: float, terminals: int, cameras: int, step: int) -> tuple[float | None, datetime]:
    from collector.cli.demo import build_history
    from collector.store.sqlite import SqliteStore

    if db.exists():
        store = SqliteStore(db)
        last = store.read.execute("SELECT max(end), max(start) FROM finding_intervals").fetchone()
        took = store.get_meta("bench.history_s")
        store.close()
        return (float(took) if took else None), datetime.fromtimestamp(max(x for x in last if x is not None), UTC)
    end = datetime.now(UTC).replace(microsecond=0)
    _, took = _timed(lambda: build_history(db, days, terminals, cameras, step, end))
    store = SqliteStore(db)
    store.set_meta("bench.history_s", f"{took:.1f}")  # kept so later runs on this store can report it
    store.close()
    return took, end


def _verify(bundle: bytes, public_pem: bytes):
    from collector.reports.verify import verify_bundle

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.zip"
        path.write_bytes(bundle)
        return _timed(lambda: verify_bundle(path, public_pem))


def run(args: argparse.Namespace) -> list[tuple[str, float, str]]:
    from collector.reports.build import build_report
    from collector.reports.data import gather
    from collector.store.sqlite import SqliteStore
    from rules.catalog import default_catalog

    db = Path(args.db)
    gen_s, end = _ensure_history(db, args.days, args.terminals, args.cameras, args.step_minutes)
    store = SqliteStore(db)
    controls = list(default_catalog())
    start = end - timedelta(days=args.days)
    rows: list[tuple[str, float, str]] = []
    if gen_s is not None:
        rows.append(("write simulated history (`clausewatch demo --no-serve`)", gen_s,
                     f"{store.count_observations():,} observations; not part of the report"))
    data, base = _timed(lambda: gather(store, controls, start, end))
    n_iv = sum(len(r.pieces) for r in data.results)
    rows.append(("gather report data (baseline)", base, f"{n_iv:,} finding intervals"))
    tz = ZoneInfo("Asia/Shanghai")
    total = 0.0
    bundle = b""
    for fmt in ("html", "pdf", "oscal", "csv", "bundle"):
        out, took = _timed(lambda fmt=fmt: build_report(store, controls, start, end, fmt, "zh", tz=tz))
        total += took
        if fmt == "bundle":
            bundle = out
        rows.append((f"report --format {fmt}", took, f"{len(out) / 1e6:.1f} MB, {took / base:.1f}x baseline"))
    rows.append(("all formats", total, f"limit {LIMITS_S['all formats']:.0f} s"))
    rep, took = _verify(bundle, store.site_key.public_pem())
    rows.append(("verify bundle", took, f"{'OK' if rep.ok else 'FAILED'}: {rep.ledger_entries:,} ledger entries,"
                 f" limit {LIMITS_S['verify bundle']:.0f} s"))
    # one site of the store: every part filtered, the ledger segment sorted into shown and withheld
    site, took = _timed(lambda: build_report(store, controls, start, end, "bundle", "zh", site="default", tz=tz))
    rows.append(("report --format bundle --site default", took, f"{len(site) / 1e6:.1f} MB, {took / base:.1f}x"
                 " baseline"))
    rep, took = _verify(site, store.site_key.public_pem())
    rows.append(("verify site bundle", took, f"{'OK' if rep.ok else 'FAILED'}: {rep.ledger_entries:,} ledger entries,"
                 f" {rep.ledger_withheld:,} withheld"))
    return rows


def write_section(rows: list[tuple[str, float, str]], args: argparse.Namespace) -> str:
    lines = [
        "## reports",
        "",
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {os.cpu_count()} cores (shared), "
        f"`bench/bench_reports.py`: {args.days:g} days of the simulated site, {args.terminals} terminals, "
        f"{args.cameras} cameras, a snapshot every {args.step_minutes} min; load average "
        f"{os.getloadavg()[0]:.1f} when measured (other processes on the machine inflate the seconds)."
        " The site rows: the same store's only site (`--site default`), so nothing is withheld; the"
        " two-site case is in tests/collector/reports/test_site_scope.py.",
        "",
        "| step | seconds | notes |",
        "|---|---:|---|",
        *[f"| {name} | {s:.2f} | {note} |" for name, s, note in rows],
        "",
    ]
    section = "\n".join(lines)
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n\n"
    if "## reports" in text:
        text = re.sub(r"## reports\n.*?(?=\n## |\Z)", section.rstrip() + "\n", text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + section
    doc.write_text(text, encoding="utf-8")
    return section


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=str(ROOT / "var" / "bench-reports-500x100.db"))
    ap.add_argument("--days", type=float, default=30)
    ap.add_argument("--terminals", type=int, default=500)
    ap.add_argument("--cameras", type=int, default=100)
    ap.add_argument("--step-minutes", type=int, default=240)
    args = ap.parse_args()
    rows = run(args)
    print(write_section(rows, args))
    over = [n for n, s, _ in rows if n in LIMITS_S and s > LIMITS_S[n]]
    sys.exit(1 if over else 0)


if __name__ == "__main__":
    main()
