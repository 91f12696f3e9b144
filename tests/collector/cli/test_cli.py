"""The command-line contract: names, --json, exit codes 0/1/2."""
import json
import sqlite3
from pathlib import Path

import pytest

from tests.integration.conftest import cli


def test_controls_list_json_is_the_catalog():
    r = cli("controls", "list", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    ids = {c["id"] for c in data}
    assert {"USB-BLOCK", "UPS-RUNTIME", "CCTV-RETENTION", "BATCH-PURGED"} <= ids
    usb = next(c for c in data if c["id"] == "USB-BLOCK")
    assert usb["text_zh"] == "禁止使用USB等接口" and usb["clauses"] == ["T14.2-4"]


def test_controls_validate_reports_file_line_and_exits_2(tmp_path: Path):
    (tmp_path / "bad.yaml").write_text("- id: X-1\n  clauses: [T14.2-4]\n  severity: extreme\n", encoding="utf-8")
    r = cli("controls", "validate", str(tmp_path))
    assert r.returncode == 2
    first = r.stderr.splitlines()[0]
    assert first.startswith(f"{tmp_path / 'bad.yaml'}:") and ":3: severity" in r.stderr
    assert r.stdout == ""


def test_controls_validate_accepts_the_shipped_catalog():
    import rules

    r = cli("controls", "validate", str(Path(rules.__file__).parent / "controls"), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["ok"] is True


def test_users_add_reads_password_from_stdin_and_rejects_bad_roles(tmp_path: Path):
    db = tmp_path / "cw.db"
    assert cli("users", "add", "alice", "--role", "auditor", "--db", str(db), stdin="a long password\n").returncode == 0
    r = cli("users", "list", "--db", str(db), "--json")
    assert json.loads(r.stdout)[0]["role"] == "auditor"
    bad = cli("users", "add", "bob", "--role", "root", "--db", str(db), stdin="a long password\n")
    assert bad.returncode == 2 and "--role" in bad.stderr
    short = cli("users", "add", "carol", "--role", "admin", "--db", str(db), stdin="short\n")
    assert short.returncode == 2 and "10 characters" in short.stderr


@pytest.mark.sqlite_file  # edits the demo's SQLite file in place
def test_demo_history_then_ledger_verify_and_posture(tmp_path: Path):
    db = tmp_path / "demo.db"
    r = cli("demo", "--days", "2", "--no-serve", "--db", str(db), "--terminals", "4")
    assert r.returncode == 0, r.stderr
    ok = cli("ledger", "verify", "--db", str(db), "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    post = cli("posture", "--db", str(db), "--json")
    data = json.loads(post.stdout)
    assert post.returncode in (0, 1) and len(data["controls"]) >= 32
    assert {c["status"] for c in data["controls"]} <= {"pass", "fail", "unknown", "not_applicable"}
    before = cli("posture", "--db", str(db), "--json", "--at", "2000-01-01T00:00:00+08:00")
    assert all(c["status"] == "unknown" and not c["subjects"] for c in json.loads(before.stdout)["controls"])
    for at in ([], ["--at", "2000-01-01T00:00:00+08:00"], ["--at", data["at"]]):  # the text, as the JSON says
        full = json.loads(cli("posture", "--db", str(db), "--json", *at).stdout)
        text = cli("posture", "--db", str(db), *at)
        assert text.returncode == (1 if full["totals"].get("fail") else 0)
        assert text.stdout.splitlines() == [f"{c['id']:28} {c['status']:8} " + ", ".join(
            f"{k}={v}" for k, v in sorted(c["counts"].items())) for c in full["controls"]]

    conn = sqlite3.connect(db)
    conn.execute("UPDATE ledger SET body = CAST(replace(CAST(body AS TEXT), '\"to\":\"fail\"', '\"to\":\"pass\"')"
                 " AS BLOB) WHERE seq = (SELECT min(seq) FROM ledger"
                 " WHERE CAST(body AS TEXT) LIKE '%\"to\":\"fail\"%')")
    conn.commit()
    bad = cli("ledger", "verify", "--db", str(db))
    assert bad.returncode == 1 and "altered" in bad.stdout


def test_missing_store_is_bad_input(tmp_path: Path):
    r = cli("ledger", "verify", "--db", str(tmp_path / "nope.db"))
    assert r.returncode == 2 and "no such store" in r.stderr


def test_bad_time_is_bad_input(tmp_path: Path):
    db = tmp_path / "x.db"
    cli("demo", "--days", "0", "--no-serve", "--db", str(db))
    r = cli("posture", "--db", str(db), "--at", "yesterday-ish")
    assert r.returncode == 2 and "--at" in r.stderr


def test_help_lists_the_contract_commands():
    out = cli("--help").stdout
    for name in ("serve", "demo", "controls", "ledger", "users", "posture"):
        assert name in out


def test_posture_of_one_site_shows_only_its_subjects(tmp_path: Path):
    from datetime import UTC, datetime

    from collector.engine import Engine
    from collector.store.sqlite import SqliteStore
    from rules.catalog import default_catalog
    from rules.model import Observation

    db = tmp_path / "cw.db"
    store = SqliteStore(db)
    now = datetime.now(UTC)
    batch = [Observation(source="t", site=site, subject_kind="host", subject_id=host, kind="usb.devices",
                         observed_at=now, payload={"enforcement": "sysfs", "devices": [
                             {"vendor_id": "0781", "product_id": "5567", "classes": ["08"], "authorized": usable}]})
             for site, host, usable in (("branch-a", "A1", False), ("branch-b", "B1", True))]
    store.ingest(batch, actor="t")
    engine = Engine(store, list(default_catalog()))
    engine.evaluate(engine.note(batch), now=now)
    store.close()
    for site, host, status, code in (("branch-a", "A1", "pass", 0), ("branch-b", "B1", "fail", 1)):
        r = cli("posture", "--db", str(db), "--site", site, "--json")
        assert r.returncode == code, r.stderr
        usb = next(c for c in json.loads(r.stdout)["controls"] if c["id"] == "USB-BLOCK")
        assert [(s["subject"], s["site"]) for s in usb["subjects"]] == [(host, site)]
        assert usb["status"] == status


def test_a_broken_configured_catalog_is_exit_2_naming_file_and_line(tmp_path: Path):
    (tmp_path / "controls").mkdir()
    (tmp_path / "controls" / "a.yaml").write_text("- id: X-1\n  clauses: [T14.2-4]\n  severity: extreme\n",
                                                 encoding="utf-8")
    (tmp_path / "u.csv").write_text("account,name,end_date\nzhangsan,,\n", encoding="utf-8")
    (tmp_path / "l.csv").write_text("time,account,terminal,action,records\n2026-11-28 09:00:00,zhangsan,T1,login,\n",
                                    encoding="utf-8")
    for argv in (["controls", "list"],
                 ["audit", "accounts", "--users", str(tmp_path / "u.csv"), "--logins", str(tmp_path / "l.csv")]):
        r = cli(*argv, env={"CLAUSEWATCH_CONTROLS_DIR": str(tmp_path / "controls")})
        assert r.returncode == 2 and f"{tmp_path / 'controls' / 'a.yaml'}:3: severity" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
