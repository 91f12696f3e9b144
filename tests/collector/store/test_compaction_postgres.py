"""`store compact` on a PostgreSQL store drops the same observations and writes the same ledger entry as on
the SQLite store it was copied from; the compacted store verifies, and copies back to SQLite whole."""
from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from collector.cli.demo import build_history
from collector.cli.main import build_app
from collector.store.files import evidence_dir_of, site_key_path_of
from collector.store.opening import open_store

# a fixed hour of the day: what a day-old compaction drops depends on where the day boundary falls
END = (datetime.now(UTC) - timedelta(days=1)).replace(hour=6, minute=0, second=0, microsecond=0)
COMPACT = ("--keep-raw-days", "1", "--now", END.isoformat(), "--json")


def _run(*args: str | Path) -> tuple[int, dict, str]:
    r = CliRunner().invoke(build_app(), [str(a) for a in args])
    return r.exit_code, (json.loads(r.stdout) if r.exit_code in (0, 1) and "--json" in args else {}), r.output


def _rows(db: str | Path, sql: str) -> list[tuple]:
    store = open_store(db)
    try:
        return sorted(tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
                      for r in store.read.execute(sql).fetchall())
    finally:
        store.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Two simulated days of two terminals and the site's cameras, UPS, sensors and doors."""
    db = tmp_path_factory.mktemp("site") / "site.db"
    build_history(db, days=2, terminals=2, cameras=2, step_minutes=60, end=END)
    return db


def test_compaction_on_postgresql_is_compaction_on_sqlite(site, postgres_url, tmp_path):
    on_sqlite = tmp_path / "s.db"
    shutil.copy(site, on_sqlite)
    shutil.copytree(evidence_dir_of(site), evidence_dir_of(on_sqlite))
    shutil.copy(site_key_path_of(site), site_key_path_of(on_sqlite))
    code, _, out = _run("store", "copy", "--from", site, "--to", postgres_url)
    assert code == 0, out

    results = []
    for db in (on_sqlite, postgres_url):
        code, result, out = _run("store", "compact", "--db", db, *COMPACT)
        assert code == 0, out
        results.append({k: v for k, v in result.items() if k != "db"})
    assert results[0] == results[1] and results[0]["dropped"] > 0 and results[0]["evidence_removed"] == []
    head = "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1"
    assert _rows(on_sqlite, head) == _rows(postgres_url, head)  # the same compaction entry, chained the same
    proofs = "SELECT * FROM pruned_batches"
    assert _rows(on_sqlite, proofs) == _rows(postgres_url, proofs) != []

    back = tmp_path / "back.db"
    code, copied, out = _run("store", "copy", "--from", postgres_url, "--to", back, "--json")
    assert code == 0, out
    assert _rows(back, proofs) == _rows(on_sqlite, proofs)
    for db in (postgres_url, back):
        code, verified, out = _run("ledger", "verify", "--deep", "--db", db, "--json")
        assert code == 0, out
        assert verified["ok"] and verified["deep"]["ok"] and verified["head_seq"] == copied["ledger_head_seq"]
    at = (END - timedelta(hours=30, minutes=7)).isoformat()
    postures = [_run("posture", "--db", db, "--at", at, "--json") for db in (site, postgres_url, back)]
    assert postures[0][:2] == postures[1][:2] == postures[2][:2] and postures[0][1], postures[0][2]


def test_compacting_a_postgresql_store_again_keeps_it_verifiable(site, postgres_url):
    code, _, out = _run("store", "copy", "--from", site, "--to", postgres_url)
    assert code == 0, out
    with_password = postgres_url.replace("://clausewatch@", "://clausewatch:secret@")  # the test server trusts
    for days, now in (("1", END), ("0", END + timedelta(days=2))):
        code, result, out = _run("store", "compact", "--db", with_password, "--keep-raw-days", days,
                                 "--now", now.isoformat(), "--json")
        assert code == 0 and result["dropped"] > 0, out
        assert result["db"] == postgres_url.replace("://clausewatch@", "://clausewatch:***@")
    code, verified, out = _run("ledger", "verify", "--deep", "--db", postgres_url, "--json")
    assert code == 0 and verified["ok"], out
