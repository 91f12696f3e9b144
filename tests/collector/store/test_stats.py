"""`store stats` on a real store that received observations over several days."""
from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest
from typer.testing import CliRunner

from collector.cli.main import build_app
from collector.store.sqlite import SqliteStore
from rules.model import Observation

NOW = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
PER_DAY = {4: 40, 3: 30, 2: 20, 1: 10, 0: 5}  # days before NOW -> observations received that day


def _obs(day: int, i: int) -> Observation:
    kind = "usb.devices" if i % 2 else "av.status"
    return Observation(source="agent:h", subject_kind="host", subject_id=f"h{i}", kind=kind,
                       observed_at=NOW - timedelta(days=day), payload={"note": "x" * 200, "i": i, "day": day})


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cw.db"
    store = SqliteStore(path)
    for day, n in PER_DAY.items():
        store.ingest([_obs(day, i) for i in range(n)], actor="agent:h", received_at=NOW - timedelta(days=day))
    store.close()
    return path


def _stats(db, *extra: str):
    r = CliRunner().invoke(build_app(), ["store", "stats", "--db", str(db), "--now", NOW.isoformat(), *extra])
    return r


def test_rows_per_table_kind_and_day(db):
    r = _stats(db, "--json", "--days", "7")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    tables = {t["name"]: t for t in data["tables"]}
    assert tables["observations"]["rows"] == sum(PER_DAY.values())
    assert tables["subjects"]["rows"] == max(PER_DAY.values())
    if tables["observations"]["bytes"] is not None:  # dbstat present: the observations hold most pages
        assert tables["observations"]["bytes"] == max(t["bytes"] for t in data["tables"])
    kinds = {k["kind"]: k for k in data["kinds"]}
    assert kinds["usb.devices"]["rows"] + kinds["av.status"]["rows"] == sum(PER_DAY.values())
    assert all(k["bytes"] > 200 * k["rows"] for k in kinds.values())
    days = {d["day"]: d["rows"] for d in data["days"]}
    assert len(days) == 7
    for before, n in PER_DAY.items():
        assert days[(NOW - timedelta(days=before)).date().isoformat()] == n
    assert days[(NOW - timedelta(days=6)).date().isoformat()] == 0


def test_growth_and_the_day_the_disk_is_full(db):
    data = json.loads(_stats(db, "--json").stdout)
    assert data["growth_bytes_per_day"] > 0
    assert data["disk_free_bytes"] > 0
    assert data["days_until_full"] == pytest.approx(data["disk_free_bytes"] / data["growth_bytes_per_day"])
    assert date.fromisoformat(data["disk_full_at"]) >= NOW.date() + timedelta(days=int(data["days_until_full"]))
    # the complete days received 100 observations: growth is their file share, not zero nor the whole file
    assert data["growth_bytes_per_day"] < data["file_bytes"]


def test_a_store_that_does_not_grow_is_never_full(tmp_path):
    SqliteStore(tmp_path / "cw.db").close()
    data = json.loads(_stats(tmp_path / "cw.db", "--json").stdout)
    assert data["growth_bytes_per_day"] == 0
    assert data["disk_full_at"] is None and data["days_until_full"] is None


def test_text_for_a_person(db):
    r = _stats(db)
    assert r.exit_code == 0, r.output
    assert "observations" in r.stdout and "usb.devices" in r.stdout and "per day" in r.stdout
    assert "disk full: " in r.stdout and "KiB" in r.stdout


@pytest.mark.parametrize("args", [
    pytest.param(["--days", "1"], id="days-too-few"),
    pytest.param(["--now", "yesterday"], id="bad-now"),
])
def test_bad_options_exit_2(db, args):
    r = _stats(db, *args)
    assert r.exit_code == 2


def test_a_missing_store_exits_2_and_creates_nothing(tmp_path):
    r = CliRunner().invoke(build_app(), ["store", "stats", "--db", str(tmp_path / "none.db")])
    assert r.exit_code == 2 and "no such store" in r.output
    assert not (tmp_path / "none.db").exists()


def _site_over(tmp_path, days: int, per_day: int):
    """A store that received `per_day` readings a day (each a new meaning: a full row) for `days` days."""
    path = tmp_path / "long.db"
    store = SqliteStore(path)
    for day in range(days, 0, -1):
        at = NOW - timedelta(days=day)
        store.ingest([Observation(source="agent:h", subject_kind="host", subject_id=f"h{i % 5}", kind="usb.devices",
                                  observed_at=at + timedelta(minutes=i), payload={"i": i, "day": day, "pad": "y" * 300})
                      for i in range(per_day)], actor="agent:h", received_at=at + timedelta(hours=1))
    store.close()
    return path


def test_growth_over_compacted_days_is_what_a_day_keeps_plus_the_ledger(tmp_path):
    """Compaction thins old days: their bytes no longer tell what arrived, and must not read as a store that
    stopped growing, nor the raw days as growth that lasts. Once compacted, the growth is what a compacted
    day still holds plus the ledger's daily share; the raw days' numbers are untouched."""
    db = _site_over(tmp_path, 7, 200)
    before = json.loads(_stats(db, "--json", "--days", "8").stdout)
    assert not any(d["compacted"] for d in before["days"])
    r = CliRunner().invoke(build_app(), ["store", "compact", "--db", str(db), "--keep-raw-days", "3",
                                         "--now", NOW.isoformat(), "--json"])
    assert r.exit_code == 0, r.output
    after = json.loads(_stats(db, "--json", "--days", "8").stdout)
    flags = {d["day"]: d["compacted"] for d in after["days"]}
    old_day, raw_day = (NOW - timedelta(days=5)).date().isoformat(), (NOW - timedelta(days=2)).date().isoformat()
    assert flags[old_day] and not flags[raw_day] and not flags[NOW.date().isoformat()]
    by_day = {d["day"]: d for d in after["days"]}
    assert by_day[raw_day] == {**{d["day"]: d for d in before["days"]}[raw_day], "compacted": False}
    assert by_day[old_day]["rows"] < 20  # thinned to its keyframes
    # steady growth: well under the raw rate, yet at least what the ledger adds every day
    raw_rate = before["growth_bytes_per_day"]
    assert 0 < after["growth_bytes_per_day"] < raw_rate / 4
    conn = sqlite3.connect(db)
    ledger = conn.execute("SELECT sum(length(body)) FROM ledger").fetchone()[0]
    conn.close()
    assert after["growth_bytes_per_day"] > ledger / 8  # the ledger began 7 days before NOW, 7 days and a bit
    assert after["days_until_full"] > before["days_until_full"] * 4
    r = _stats(db, "--days", "8")
    assert f"{old_day}" in r.stdout and "compacted" in r.stdout
