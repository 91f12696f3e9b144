"""A report's period ends when it is generated, and time without data is shown apart from compliance."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from collector.reports.build import build_report
from collector.reports.data import gather

TZ = ZoneInfo("Asia/Shanghai")
BIN = Path(sys.executable).parent / "clausewatch"


def test_a_period_reaching_into_the_future_ends_at_generation(site):
    now = site.start + timedelta(days=2, hours=5, minutes=44)
    data = gather(site.store, site.controls, site.start, site.end, now=now)
    assert data.end == now and data.generated_at == now
    ends = [v.end for r in data.results for v in r.violations]
    assert ends and max(ends) <= now  # no violation ends in the future
    html = build_report(site.store, site.controls, site.start, site.end, "html", "en", tz=TZ, now=now).decode()
    assert f"{now.astimezone(TZ):%Y-%m-%d %H:%M} ({TZ.key})" in html  # the period as printed
    assert "requested end" in html and f"{site.end.astimezone(TZ):%Y-%m-%d %H:%M}" in html


def test_a_period_starting_after_generation_is_refused(site):
    with pytest.raises(ValueError, match="after the report is generated"):
        gather(site.store, site.controls, site.end, site.end + timedelta(days=1), now=site.end)


def test_time_before_the_first_observation_is_no_data_not_a_violation(site):
    # the simulated site starts one day before site.start: two of these three days have no data
    start = site.start - timedelta(days=3)
    data = gather(site.store, site.controls, start, site.start, now=site.end)
    clean = [r for r in data.results if not r.violations and r.status_end == "pass"
             and {s.status for s in r.segments} == {"no_data", "pass"}]
    assert len(clean) >= 5
    for r in clean:
        assert r.pct_compliant == 100.0, r.control.id  # was ~33 % when no data counted as non-compliant
        assert 66.0 < r.pct_no_data < 67.0, r.control.id
    html = build_report(site.store, site.controls, start, site.start, "html", "zh", tz=TZ, now=site.end).decode()
    assert "无数据时间" in html and "66.7 %" in html


def _copy(site, folder: Path) -> Path:
    """A copy of the shared store (the CLI writes its report into the ledger), with its site key."""
    import shutil
    import sqlite3

    db = folder / site.db.name
    with sqlite3.connect(site.db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    key = site.db.with_name(site.db.stem + ".site-key.pem")
    shutil.copy(key, folder / key.name)
    return db


def test_cli_report_takes_now_and_clips(site, tmp_path):
    now = site.start + timedelta(days=1)
    out = tmp_path / "r.csv"
    db = _copy(site, tmp_path)
    p = subprocess.run([str(BIN), "report", "--db", str(db), "--from", site.start.isoformat(), "--to",
                        site.end.isoformat(), "--format", "csv", "-o", str(out), "--now", now.isoformat(), "--json"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode in (0, 1), p.stderr
    assert json.loads(p.stdout)["to"] == now.isoformat()
    late = subprocess.run([str(BIN), "report", "--db", str(db), "--from", site.end.isoformat(), "--to",
                           (site.end + timedelta(days=1)).isoformat(), "--format", "csv", "-o", str(out),
                           "--now", now.isoformat()], capture_output=True, text=True, timeout=120)
    assert late.returncode == 2 and "--from" in late.stderr
