"""`ledger verify --deep`: an edit to any table that answers are read from is named, though the chain
itself still verifies."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collector.engine import Engine
from collector.people import attest, waivers
from collector.proof.deepverify import verify_derived
from collector.store.sqlite import SqliteStore
from rules.catalog import default_catalog
from rules.model import Observation

pytestmark = pytest.mark.sqlite_file  # copies of one SQLite file made once, then edited in place

T0 = datetime(2026, 11, 20, 8, tzinfo=UTC)
BIN = Path(sys.executable).parent / "clausewatch"


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """Six hourly rounds of two hosts whose USB blocking comes and goes, a waiver and an attestation."""
    db = tmp_path_factory.mktemp("deep") / "cw.db"
    store = SqliteStore(db)
    controls = list(default_catalog())
    engine = Engine(store, controls)
    for h in range(6):
        at = T0 + timedelta(hours=h)
        obs = [Observation(source="agent:T001", subject_kind="host", subject_id=f"T00{i}", kind="usb.devices",
                           observed_at=at, payload={"policy_ok": (h + i) % 3 != 0, "enforcement": "sysfs",
                                                    "devices": []}) for i in (1, 2)]
        store.ingest(obs, actor="agent", received_at=at)
        engine.note(obs)
        engine.evaluate(None, now=at + timedelta(seconds=30))
    waivers.approve(store, controls, control="USB-BLOCK", subject_kind="host", subject_id="T001",
                       reason="keyboard replacement on order", ends_at=T0 + timedelta(days=3), approver="boss",
                       now=T0 + timedelta(hours=6))
    attest.attest(store, controls, start=T0, end=T0 + timedelta(hours=6), statement="USB checked by hand",
                  user="boss", now=T0 + timedelta(hours=7), acknowledge_failures=True)
    store.checkpoint()
    store.close()
    return db


@pytest.fixture
def store(made, tmp_path):
    for suffix in ("", ".site-key.pem"):
        src = made.parent / (made.stem + suffix if suffix else made.name)
        (tmp_path / src.name).write_bytes(src.read_bytes())
    s = SqliteStore(tmp_path / made.name)
    yield s
    s.close()


def _sql(store, *statements):
    conn = sqlite3.connect(store.path)
    for q in statements:
        conn.execute(q)
    conn.commit()
    conn.close()


def _deep(store):
    with store.derived_rows() as tables:
        return verify_derived(tables, list(default_catalog()))


def test_untouched_store_recomputes_to_what_is_stored(store):
    rep = _deep(store)
    assert rep.ok, [d.text() for d in rep.differences[:5]]
    assert rep.checked["findings (re-evaluated)"] == rep.checked["findings"] > 0
    assert rep.checked["finding_intervals"] > rep.checked["findings"]
    assert rep.checked["exceptions"] == rep.checked["attestations"] == 1


# (what is edited, SQL, table, column named first)
EDITS = [
    pytest.param(["UPDATE findings SET status = 'pass' WHERE control = 'USB-BLOCK' AND status = 'fail'"],
                 "findings", "status", id="finding-status"),
    pytest.param(["UPDATE findings SET value = '{\"devices\":0,\"enforcement\":\"sysfs\",\"usable_storage\":0,"
                  "\"x\":1}' WHERE control = 'USB-BLOCK' AND subject_id = 'T002'"],
                 "findings", "value", id="finding-value"),
    pytest.param(["UPDATE findings SET reason_en = 'all fine' WHERE control = 'USB-BLOCK' AND subject_id = 'T001'"],
                 "findings", "reason_en", id="finding-reason"),
    pytest.param(["DELETE FROM findings WHERE control = 'USB-BLOCK' AND subject_id = 'T001'"],
                 "findings", "row", id="finding-deleted"),
    pytest.param(["UPDATE finding_intervals SET status = 'pass' WHERE id = (SELECT min(id) FROM finding_intervals"
                  " WHERE control = 'USB-BLOCK' AND status = 'fail')"], "finding_intervals", "status",
                 id="interval-status"),
    pytest.param(["UPDATE finding_intervals SET end = end + 7200 WHERE id = (SELECT min(id) FROM finding_intervals"
                  " WHERE control = 'USB-BLOCK' AND end IS NOT NULL)"], "finding_intervals", "end", id="interval-end"),
    pytest.param(["DELETE FROM finding_intervals WHERE id = (SELECT min(id) FROM finding_intervals"
                  " WHERE control = 'USB-BLOCK' AND status = 'fail')"], "finding_intervals", "row",
                 id="interval-deleted"),
    pytest.param(["DROP TRIGGER exceptions_no_update", "UPDATE exceptions SET ends_at = ends_at + 86400 * 365"],
                 "exceptions", "ends_at", id="waiver-extended"),
    pytest.param(["DROP TRIGGER exceptions_no_update", "UPDATE exceptions SET subject_id = '*'"],
                 "exceptions", "subject_id", id="waiver-widened"),
    pytest.param(["DROP TRIGGER exceptions_no_delete", "DELETE FROM exceptions"], "exceptions", "row",
                 id="waiver-deleted"),
    pytest.param(["INSERT INTO exceptions (control, subject_kind, subject_id, site, reason, owner, approver,"
                  " created_at, starts_at, ends_at, ledger_seq) SELECT control, subject_kind, 'T002', site, reason,"
                  " owner, approver, created_at, starts_at, ends_at, ledger_seq FROM exceptions"],
                 "exceptions", "ledger_seq", id="waiver-added"),
    pytest.param(["DROP TRIGGER attestations_no_update",
                  "UPDATE attestations SET body = CAST(replace(CAST(body AS TEXT), 'by hand', 'by eye') AS BLOB)"],
                 "attestations", "body", id="attestation-statement"),
    pytest.param(["UPDATE latest SET obs_rowid = obs_rowid - 2, observed_at = observed_at - 7200"
                  " WHERE subject_id = 'T001' AND kind = 'usb.devices'"], "latest", "obs_rowid", id="latest"),
    pytest.param(["UPDATE observations SET observed_at = observed_at + 86400 WHERE rowid = 6"],  # 3 is a repeat
                 "observations", "observed_at", id="observation-observed-at"),
    pytest.param(["UPDATE observations SET subject_id = 'T009' WHERE rowid = 4"],
                 "observations", "subject_id", id="observation-subject"),
    pytest.param(["UPDATE observations SET received_at = received_at - 3600 WHERE rowid = 5"],
                 "observations", "received_at", id="observation-received-at"),
]


@pytest.mark.parametrize(("statements", "table", "column"), EDITS)
def test_each_edit_of_a_derived_table_is_named(store, statements, table, column):
    _sql(store, *statements)
    assert store.verify_ledger().ok  # the chain and the Merkle roots do not see it
    rep = _deep(store)
    assert not rep.ok
    first = rep.differences[0]
    assert (first.table, first.column) == (table, column), first.text()
    assert first.stored != first.recomputed


def test_cli_names_the_first_difference_and_exits_1(store):
    _sql(store, "UPDATE findings SET status = 'pass' WHERE control = 'USB-BLOCK' AND subject_id = 'T002'"
                " AND status = 'fail'", "UPDATE findings SET status = 'pass' WHERE control = 'USB-BLOCK'")
    store.close()
    plain = subprocess.run([str(BIN), "ledger", "verify", "--db", str(store.path)], capture_output=True, text=True)
    assert plain.returncode == 0
    done = subprocess.run([str(BIN), "ledger", "verify", "--db", str(store.path), "--deep", "--json"],
                          capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] is False and data["deep"]["ok"] is False
    first = data["deep"]["differences"][0]
    assert first["table"] == "findings" and first["column"] == "status"
    assert first["stored"] == "pass" and first["recomputed"] == "fail"
    assert data["deep"]["first_difference"].startswith("findings (USB-BLOCK, host/T00")
    text = subprocess.run([str(BIN), "ledger", "verify", "--db", str(store.path), "--deep"],
                          capture_output=True, text=True).stdout
    assert "DERIVED TABLES DIFFER: findings (USB-BLOCK, host/T00" in text and "status stored 'pass'" in text


def test_a_command_run_with_an_earlier_now_recomputes_too(tmp_path):
    """`batch register --now` (earlier than the clock) evaluates data received after that moment."""
    from typer.testing import CliRunner

    from collector.cli.main import build_app
    from tests.collector.cli.test_lifecycle_batches import dispatch_xlsx

    db = tmp_path / "cw.db"
    SqliteStore(db).close()  # batches are registered in the site's store
    r = CliRunner().invoke(build_app(), ["batch", "register", str(dispatch_xlsx(tmp_path / "d.xlsx")), "--db",
                                         str(db), "--now", "2026-10-02T09:00"])
    assert r.exit_code == 0, r.output
    store = SqliteStore(db)
    try:
        assert store.current_findings(subject_kind="batch")  # judged as of --now
        rep = _deep(store)
    finally:
        store.close()
    assert rep.ok, [d.text() for d in rep.differences[:3]]
