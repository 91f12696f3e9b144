"""Audits sent to a running collector with a source token are judged there."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.integration.conftest import cli

pytestmark = pytest.mark.integration

USERS = "账号,姓名,离职日期\nzhangsan,张三,\n"
LOG = ("时间,账号,终端,操作,记录数\n2026-11-28 09:00:00,zhangsan,T01,登录,\n"
       "2026-11-28 09:10:00,zhangsan,T02,登录,\n2026-11-28 09:20:00,zhangsan,T01,查询,\n")


def test_accounts_audit_reaches_the_collector_and_fails_the_control(collector, tmp_path: Path) -> None:
    collector.login("admin")
    with collector.client("admin") as http:
        r = http.post("/api/v1/source-tokens", json={"name": "accounts-import", "subject_kinds": ["collection_system"]})
        r.raise_for_status()
        token = r.json()["token"]
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    (tmp_path / "log.csv").write_text(LOG, encoding="utf-8")
    args = ["audit", "accounts", "--users", str(tmp_path / "users.csv"), "--logins", str(tmp_path / "log.csv"),
            "--now", "2026-11-28T22:00", "--collector", collector.url, "--json"]
    r = cli(*args, env={"CLAUSEWATCH_TOKEN": token})
    assert r.returncode == 1, r.stderr
    collector.login("security")
    with collector.client("security") as http:
        deadline = time.monotonic() + 20
        status = None
        while time.monotonic() < deadline and status != "fail":
            rows = http.get("/api/v1/findings", params={"control": "NO-SHARED-ACCOUNTS"}).json()
            status = rows[0]["status"] if rows else None
            time.sleep(0.2)
    assert status == "fail"
    bad = cli(*args, env={"CLAUSEWATCH_TOKEN": "cws_wrong"})
    assert bad.returncode == 2 and "HTTP 401" in bad.stderr
