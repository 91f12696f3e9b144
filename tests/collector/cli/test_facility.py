from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from collector.cli.main import build_app
from tests.rules.catalog_copy import catalog_with

EVENTS = """time,door,badge,person,direction,result,duration_s
2026-11-03T09:00:00+08:00,cage-1,A1,Wang,in,granted,
2026-11-03T09:01:00+08:00,cage-1,S1,Li,in,granted,
2026-11-03T09:10:00+08:00,office,S1,Li,in,granted,
2026-11-03T10:05:00+08:00,main-door,,,,held_open,30
"""
APPROVALS = """approval_id,person,door,start,end,approved_by
AP1,Li,cage-1,2026-11-03T08:00:00+08:00,2026-11-03T12:00:00+08:00,Boss
AP2,Wang,cage-1,2026-11-03,2026-11-03,Boss
"""
BADGES = "badge,person,role,valid_from,valid_to\nA1,Wang,admin,,\nS1,Li,staff,,\n"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, text in (("events", EVENTS), ("approvals", APPROVALS), ("badges", BADGES)):
        out[name] = tmp_path / f"{name}.csv"
        out[name].write_text(text, encoding="utf-8")
    return out


def run(files: dict[str, Path], *extra: str):
    args = ["audit", "access", "--events", str(files["events"]), "--approvals", str(files["approvals"]),
            "--badges", str(files["badges"]), "--json", *extra]
    return CliRunner().invoke(build_app(), args)


def test_clean_log_exits_0_with_the_contract_shape(files):
    r = run(files, "--machine-room-door", "cage-1")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert set(data) == {"events", "violations", "counts", "thresholds", "threshold_overrides"}
    assert data["thresholds"] == {"max_held_open_s": 60, "escort_window_s": 120} and data["threshold_overrides"] == {}
    assert data["events"] == 4 and data["violations"] == [] and set(data["counts"]) >= {"forced_entry"}


@pytest.mark.parametrize(("extra", "want"), [
    pytest.param(["--hours", "09:30-18:00", "--machine-room-door", "cage-1"],
                 ["after_hours_entry"], id="hours-option"),
    pytest.param(["--max-held-open-s", "20", "--machine-room-door", "cage-1"], ["door_held_open"], id="held-limit"),
    pytest.param(["--machine-room-door", "main-door", "--machine-room-door", "cage-1"], [],
                 id="several-doors"),
])
def test_options_change_the_judgement(files, extra, want):
    r = run(files, *extra)
    assert sorted(v["type"] for v in json.loads(r.stdout)["violations"]) == want
    assert r.exit_code == (1 if want else 0)


def test_site_file_names_machine_room(files, tmp_path):
    files["approvals"].write_text("approval_id,person,door,start,end,approved_by\n", encoding="utf-8")
    site = tmp_path / "site.yaml"
    site.write_text("rooms:\n  - {id: mr, kind: machine_room, doors: [cage-1]}\n", encoding="utf-8")
    r = run(files, "--site", str(site))
    assert r.exit_code == 1
    assert json.loads(r.stdout)["counts"]["unapproved_entry"] == 2


def test_malformed_row_exits_2_naming_file_and_line(files):
    files["badges"].write_text(BADGES + "Z9,Zed,emperor,,\n", encoding="utf-8")
    r = run(files)
    assert r.exit_code == 2
    assert "badges.csv:4: role: 'emperor'" in r.stderr and r.stdout == ""


def test_record_stores_one_audit_per_door(files, tmp_path):
    from collector.store.sqlite import SqliteStore

    db = tmp_path / "cw.db"
    SqliteStore(db).close()  # --record adds to a site's store; it does not start one
    r = run(files, "--machine-room-door", "cage-1", "--record", "--db", str(db), "--now", "2026-11-03T23:00:00")
    assert r.exit_code == 0, r.output
    store = SqliteStore(db)
    obs = store.observations(kind="access.audit")
    assert sorted(o.subject_id for o in obs) == ["cage-1", "main-door", "office"]
    store.close()


def test_poll_config_error_exits_2(tmp_path):
    cfg = tmp_path / "poll.yaml"
    cfg.write_text("ups:\n  - {ups: ups1, port: not-a-port}\n", encoding="utf-8")
    r = CliRunner().invoke(build_app(), ["poll", "--config", str(cfg), "--once", "--db", str(tmp_path / "cw.db")])
    assert r.exit_code == 2 and "poll.yaml: ups.0.port:" in r.stderr


def test_poll_once_into_the_store(tmp_path):
    from collector.store.sqlite import SqliteStore
    from tests.integration.nut_server import free_port

    cfg = tmp_path / "poll.yaml"
    cfg.write_text(f"timeout_s: 1\nups:\n  - {{ups: ups1, port: {free_port()}}}\n", encoding="utf-8")
    SqliteStore(tmp_path / "cw.db").close()  # poll adds to the site's store; it does not start one
    r = CliRunner().invoke(build_app(), ["poll", "--config", str(cfg), "--once", "--json",
                                         "--db", str(tmp_path / "cw.db")])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)[0]["payload"]["error"] == "CONNECT-FAILED"
    assert SqliteStore(tmp_path / "cw.db").observations(kind="ups.status")[0].subject_id == "ups1"


def test_the_held_open_limit_is_the_catalogs_control_parameter(files, tmp_path):
    controls = catalog_with(tmp_path / "controls", {"DOOR-CLOSED": {"max_held_open_s": 20}})
    r = CliRunner().invoke(build_app(), ["audit", "access", "--events", str(files["events"]), "--approvals",
                                         str(files["approvals"]), "--badges", str(files["badges"]), "--json",
                                         "--machine-room-door", "cage-1"],
                           env={"CLAUSEWATCH_CONTROLS_DIR": str(controls)})
    data = json.loads(r.stdout)
    assert [v["type"] for v in data["violations"]] == ["door_held_open"] and r.exit_code == 1
    assert data["thresholds"]["max_held_open_s"] == 20 and data["threshold_overrides"] == {}
    assert "ad hoc" not in r.stderr


def test_a_flag_overrides_the_control_parameter_and_says_so(files):
    r = run(files, "--max-held-open-s", "20", "--machine-room-door", "cage-1")
    assert json.loads(r.stdout)["threshold_overrides"] == {"max_held_open_s": {"used": 20, "control": 60}}
    assert "临时阈值" in r.stderr and "ad hoc thresholds" in r.stderr and "max_held_open_s=20 (60)" in r.stderr


def test_record_stores_and_judges_and_the_finding_names_the_override(files, tmp_path):
    from collector.store.sqlite import SqliteStore

    db = tmp_path / "cw.db"
    SqliteStore(db).close()
    r = run(files, "--max-held-open-s", "20", "--machine-room-door", "cage-1", "--record", "--db", str(db),
            "--now", "2026-11-03T12:00:00+08:00")
    assert r.exit_code == 1 and "recorded 3 door audits" in r.stderr
    store = SqliteStore(db)
    door = {f.subject_id: f for f in store.current_findings(control="DOOR-CLOSED")}["main-door"]
    store.close()
    assert door.status == "fail"
    assert "ad hoc thresholds: max_held_open_s=20 (control: 60)" in door.reason_en and "临时阈值" in door.reason_zh
