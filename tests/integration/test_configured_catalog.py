"""The command line and the service judge with one catalog: CLAUSEWATCH_CONTROLS_DIR, else the built-in one."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.conftest import cli
from tests.integration.test_lifecycle_ship import finding_once, source_token
from tests.rules.catalog_copy import catalog_with

pytestmark = pytest.mark.integration

USERS = "账号,姓名,离职日期\nzhangsan,张三,\n"


@pytest.fixture
def controls_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A catalog whose bulk-export limit is 50 records, set before the collector fixture starts."""
    folder = catalog_with(tmp_path / "controls", {"BULK-EXPORT-WATCH": {"export_limit": 50}})
    monkeypatch.setenv("CLAUSEWATCH_CONTROLS_DIR", str(folder))
    return folder


def test_the_cli_and_the_service_judge_with_the_configured_catalog(controls_dir, collector, tmp_path: Path) -> None:
    token = source_token(collector, "accounts-import", "collection_system")
    with collector.client("admin") as http:
        served = {c["id"]: c for c in http.get("/api/v1/controls").json()}
    listed = {c["id"]: c for c in json.loads(cli("controls", "list", "--json").stdout)}
    assert listed == served and served["BULK-EXPORT-WATCH"]["params"]["export_limit"] == 50

    day = f"{datetime.now(UTC) - timedelta(days=1):%Y-%m-%d}"
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    (tmp_path / "log.csv").write_text(f"时间,账号,终端,操作,记录数\n{day} 09:00:00,zhangsan,T01,登录,\n"
                                      f"{day} 09:10:00,zhangsan,T01,导出,60\n{day} 09:20:00,zhangsan,T01,退出,\n",
                                      encoding="utf-8")
    args = ["audit", "accounts", "--users", str(tmp_path / "users.csv"), "--logins", str(tmp_path / "log.csv"),
            "--now", f"{day}T22:00", "--json"]
    sent = cli(*args, "--collector", collector.url, env={"CLAUSEWATCH_TOKEN": token})
    assert sent.returncode == 1 and json.loads(sent.stdout)["counts"]["bulk_export"] == 1, sent.stderr
    served_finding = finding_once(collector, "BULK-EXPORT-WATCH", lambda f: f["status"] == "fail")
    assert served_finding["status"] == "fail" and "ad hoc" not in served_finding["reason"]["en"]

    local = tmp_path / "local.db"
    assert cli("users", "add", "x", "--role", "admin", "--db", str(local), stdin="a long password\n").returncode == 0
    assert cli(*args, "--db", str(local)).returncode == 1
    posture = json.loads(cli("posture", "--db", str(local), "--json").stdout)
    assert {c["id"] for c in posture["controls"]} == set(served)
    assert {c["id"]: c["status"] for c in posture["controls"]}["BULK-EXPORT-WATCH"] == "fail"

    # an audit run with the built-in catalog's limit reaches this service: the finding names the difference
    default = cli(*args, "--collector", collector.url, env={"CLAUSEWATCH_TOKEN": token, "CLAUSEWATCH_CONTROLS_DIR": ""})
    assert default.returncode == 0, default.stderr
    other = finding_once(collector, "BULK-EXPORT-WATCH", lambda f: f["status"] == "pass")
    assert "export_limit=1000 (control: 50)" in other["reason"]["en"]
