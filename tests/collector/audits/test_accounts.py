"""The accounts audit over a user list and a login/operation log as the collection system exports them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from collector.cli.main import build_app
from tests.rules.catalog_copy import catalog_with

runner = CliRunner()

USERS = """账号,姓名,离职日期
zhangsan,张三,
lisi,李四,2026-11-20
wangwu,王五,
admin,,
"""
LOG = """时间,账号,终端,操作,记录数
2026-11-28 08:30:00,zhangsan,T01,登录,
2026-11-28 08:40:00,zhangsan,T07,登录,
2026-11-28 09:00:00,zhangsan,T01,查询,
2026-11-28 09:05:00,zhangsan,T07,退出,
2026-11-28 09:10:00,wangwu,T02,login,
2026-11-28 09:20:00,wangwu,T02,导出,600
2026-11-28 09:50:00,wangwu,T02,导出,600
2026-11-28 10:00:00,admin,T03,登录,
2026-11-28 10:05:00,lisi,T04,登录,
2026-11-28 10:10:00,wangwu,T02,查询,
2026-11-28 15:30:00,wangwu,T02,查询,
2026-11-28 17:00:00,wangwu,T02,查询,
2026-11-28 18:30:00,wangwu,T02,查询,
2026-11-28 20:00:00,wangwu,T02,查询,
2026-11-28 21:00:00,wangwu,T02,登录,
2026-11-28 21:05:00,wangwu,T02,退出,
"""


def audit(tmp_path: Path, users: str = USERS, log: str = LOG, *extra: str) -> tuple[int, dict, str]:
    (tmp_path / "users.csv").write_text(users, encoding="utf-8")
    (tmp_path / "log.csv").write_bytes(log.encode("gbk"))
    r = runner.invoke(build_app(), ["audit", "accounts", "--users", str(tmp_path / "users.csv"), "--logins",
                                    str(tmp_path / "log.csv"), "--now", "2026-11-29T08:00", *extra, "--json"])
    return r.exit_code, (json.loads(r.stdout) if r.stdout.strip() else {}), r.output


def test_each_violation_type_is_found(tmp_path: Path) -> None:
    code, out, _ = audit(tmp_path)
    assert code == 1
    found = sorted((v["type"], v["account"]) for v in out["violations"])
    assert found == sorted([("shared_account", "zhangsan"), ("generic_account", "admin"),
                            ("departed_user_active", "lisi"), ("after_hours_login", "wangwu"),
                            ("bulk_export", "wangwu"), ("log_gap", "*")])
    assert out["counts"]["log_gap"] == 1 and out["events"] == 16


def test_clean_log_exits_zero(tmp_path: Path) -> None:
    log = "\n".join(LOG.splitlines()[:2] + ["2026-11-28 09:00:00,zhangsan,T01,退出,"]) + "\n"
    code, out, _ = audit(tmp_path, log=log)
    assert code == 0 and not out["violations"]


def test_mapping_names_other_columns(tmp_path: Path) -> None:
    log = "when,who,where,what,n\n2026-11-28 22:00:00,zhangsan,T01,login,\n"
    code, out, _ = audit(tmp_path, USERS, log, "--map-logins", "time=when", "--map-logins", "account=who",
                         "--map-logins", "terminal=where", "--map-logins", "action=what", "--map-logins", "records=n")
    assert code == 1 and out["counts"]["after_hours_login"] == 1


@pytest.mark.parametrize("log,message", [
    pytest.param("时间,账号,终端,操作\nyesterday,zhangsan,T01,登录\n", "line 2: time", id="bad-time"),
    pytest.param("账号,终端\nzhangsan,T01\n", "no column for time", id="missing-column"),
])
def test_bad_log_exits_2(tmp_path: Path, log: str, message: str) -> None:
    code, _, output = audit(tmp_path, log=log)
    assert code == 2 and message in output


def test_audit_is_recorded_and_judged_when_given_a_store(tmp_path: Path) -> None:
    from collector.store.sqlite import SqliteStore

    db = tmp_path / "cw.db"
    SqliteStore(db).close()  # --db records into the site's store
    code, _, _ = audit(tmp_path, USERS, LOG, "--db", str(db))
    assert code == 1
    store = SqliteStore(db)
    status = {f.control: f.status for f in store.current_findings(subject_kind="collection_system")}
    store.close()
    assert status["NO-SHARED-ACCOUNTS"] == "fail" and status["BULK-EXPORT-WATCH"] == "fail"


def test_session_log_with_logout_column_and_status_column(tmp_path: Path) -> None:
    users = "username,full_name,status\nalice,Alice,active\nbob,Bob,departed\n"
    log = ("username,terminal,login_time,logout_time\n"
           "alice,T01,2026-11-28T09:00:00+08:00,2026-11-28T12:00:00+08:00\n"
           "alice,T02,2026-11-28T11:00:00+08:00,2026-11-28T11:30:00+08:00\n"
           "alice,T01,2026-11-28T13:00:00+08:00,2026-11-28T18:00:00+08:00\n"
           "bob,T03,2026-11-28T10:00:00+08:00,2026-11-28T10:20:00+08:00\n")
    code, out, _ = audit(tmp_path, users, log)
    assert code == 1
    assert sorted((v["type"], v["account"]) for v in out["violations"]) == [
        ("departed_user_active", "bob"), ("shared_account", "alice")]


@pytest.mark.parametrize("hours,code", [
    pytest.param("07:00-22:30", 0, id="wider-hours"),
    pytest.param("09:00-18:00", 1, id="narrower-hours"),
    pytest.param("9-18", 2, id="malformed"),
])
def test_work_hours_option(tmp_path: Path, hours: str, code: int) -> None:
    log = ("time,account,terminal,action\n2026-11-28 08:30:00,zhangsan,T01,login\n"
           "2026-11-28 08:40:00,zhangsan,T01,logout\n")
    assert audit(tmp_path, USERS, log, "--work-hours", hours)[0] == code


@pytest.mark.parametrize("name,generic", [
    pytest.param("admin", True, id="admin"), pytest.param("Administrator", True, id="administrator"),
    pytest.param("test01", True, id="test01"), pytest.param("guest_user", True, id="guest-user"),
    pytest.param("测试01", True, id="zh-test"), pytest.param("zhangsan", False, id="person"),
    pytest.param("li_test", False, id="person-with-suffix"), pytest.param("adminzhang", False, id="prefix-only"),
])
def test_generic_names(name: str, generic: bool) -> None:
    from collector.audits.accounts import GENERIC

    assert bool(GENERIC.match(name)) is generic


def test_rerunning_the_same_audit_records_it_once(tmp_path: Path) -> None:
    from collector.store.sqlite import SqliteStore

    db = tmp_path / "cw.db"
    SqliteStore(db).close()  # --db records into the site's store
    for _ in range(2):
        audit(tmp_path, USERS, LOG, "--db", str(db))
    store = SqliteStore(db)
    n = len(store.observations(kind="accounts.audit"))
    store.close()
    assert n == 1


def test_operations_without_a_terminal_do_not_make_a_second_session(tmp_path: Path) -> None:
    log = ("time,account,terminal,action,records\n2026-11-28 09:00:00,zhangsan,T01,login,\n"
           "2026-11-28 09:30:00,zhangsan,,export,20\n2026-11-28 10:00:00,zhangsan,T01,logout,\n")
    code, out, _ = audit(tmp_path, USERS, log)
    assert code == 0, out["violations"]


def test_the_export_limit_is_the_controls_parameter_and_a_flag_overrides_it(tmp_path: Path) -> None:
    controls = catalog_with(tmp_path / "controls", {"BULK-EXPORT-WATCH": {"export_limit": 1500}})
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    (tmp_path / "log.csv").write_bytes(LOG.encode("gbk"))
    args = ["audit", "accounts", "--users", str(tmp_path / "users.csv"), "--logins", str(tmp_path / "log.csv"),
            "--now", "2026-11-29T08:00", "--json"]
    r = runner.invoke(build_app(), args, env={"CLAUSEWATCH_CONTROLS_DIR": str(controls)})
    out = json.loads(r.stdout)
    assert out["counts"]["bulk_export"] == 0 and out["thresholds"]["export_limit"] == 1500
    assert out["threshold_overrides"] == {} and "ad hoc" not in r.stderr
    flagged = runner.invoke(build_app(), [*args, "--export-limit", "1500", "--max-gap-h", "12"])
    out = json.loads(flagged.stdout)
    assert out["counts"]["bulk_export"] == 0 and out["counts"]["log_gap"] == 0
    assert out["threshold_overrides"] == {"export_limit": {"used": 1500, "control": 1000},
                                          "max_gap_h": {"used": 12, "control": 2}}
    assert "export_limit=1500 (1000)" in flagged.stderr and "临时阈值" in flagged.stderr
