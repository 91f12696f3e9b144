"""Audits sent to a running collector with a source token are judged there."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.conftest import cli

pytestmark = pytest.mark.integration

USERS = "账号,姓名,离职日期\nzhangsan,张三,\n"


def _day_log(day: str) -> str:
    """One account logged in on two terminals at once on `day` (YYYY-MM-DD, site time)."""
    return (f"时间,账号,终端,操作,记录数\n{day} 09:00:00,zhangsan,T01,登录,\n"
            f"{day} 09:10:00,zhangsan,T02,登录,\n{day} 09:20:00,zhangsan,T01,查询,\n")


def source_token(collector, name: str, subject_kind: str) -> str:
    """A source token an admin creates for an importer writing `subject_kind`."""
    collector.login("admin")
    with collector.client("admin") as http:
        r = http.post("/api/v1/source-tokens", json={"name": name, "subject_kinds": [subject_kind]})
        r.raise_for_status()
        return r.json()["token"]


def finding_once(collector, control: str, until) -> dict:
    """The control's first finding as the security role reads it, once `until(finding)` holds (20 s at most)."""
    collector.login("security")
    with collector.client("security") as http:
        deadline = time.monotonic() + 20
        while True:
            rows = http.get("/api/v1/findings", params={"control": control}).json()
            if (rows and until(rows[0])) or time.monotonic() > deadline:
                return rows[0] if rows else {}
            time.sleep(0.2)


def test_accounts_audit_reaches_the_collector_and_fails_the_control(collector, tmp_path: Path) -> None:
    token = source_token(collector, "accounts-import", "collection_system")
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    # yesterday's log, audited that evening: the collector judges the observation's age by its own clock,
    # and a day-old audit is within the control's freshness (2 days)
    day = f"{datetime.now(UTC) - timedelta(days=1):%Y-%m-%d}"
    (tmp_path / "log.csv").write_text(_day_log(day), encoding="utf-8")
    args = ["audit", "accounts", "--users", str(tmp_path / "users.csv"), "--logins", str(tmp_path / "log.csv"),
            "--now", f"{day}T22:00", "--collector", collector.url, "--json"]
    r = cli(*args, env={"CLAUSEWATCH_TOKEN": token})
    assert r.returncode == 1, r.stderr
    assert finding_once(collector, "NO-SHARED-ACCOUNTS", lambda f: f["status"] == "fail").get("status") == "fail"
    bad = cli(*args, env={"CLAUSEWATCH_TOKEN": "cws_wrong"})
    assert bad.returncode == 2 and "HTTP 401" in bad.stderr


def test_access_audit_reaches_the_collector_like_every_audit(collector, tmp_path: Path) -> None:
    token = source_token(collector, "access-import", "door")
    day = f"{datetime.now(UTC) - timedelta(days=1):%Y-%m-%d}"
    (tmp_path / "events.csv").write_text("time,door,badge,person,direction,result,duration_s\n"
                                         f"{day}T10:05:00+08:00,main-door,,,,held_open,300\n", encoding="utf-8")
    (tmp_path / "approvals.csv").write_text("approval_id,person,door,start,end,approved_by\n", encoding="utf-8")
    (tmp_path / "badges.csv").write_text("badge,person,role,valid_from,valid_to\n", encoding="utf-8")
    r = cli("audit", "access", "--events", str(tmp_path / "events.csv"), "--approvals", str(tmp_path / "approvals.csv"),
            "--badges", str(tmp_path / "badges.csv"), "--now", f"{day}T22:00", "--collector", collector.url, "--json",
            env={"CLAUSEWATCH_TOKEN": token})
    assert r.returncode == 1, r.stderr
    door = finding_once(collector, "DOOR-CLOSED", lambda f: True)
    assert (door.get("subject"), door.get("status")) == ("main-door", "fail")
