"""An agent given several collector URLs enrolls and ships through the first that answers, over TLS
pinned to the site CA for every one of them."""
from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agents.config import AgentConfig
from agents.daemon import Agent
from tests.integration.conftest import cli, free_port
from tests.integration.test_agent_delivery import produce, stored
from tests.integration.test_agent_tls import tls_collector  # noqa: F401 (fixture)
from tests.integration.test_lifecycle_ship import USERS, _day_log, finding_once, source_token

pytestmark = pytest.mark.integration


def config(tmp_path: Path, urls: list[str], secret: str, ca: Path | None = None) -> AgentConfig:
    return AgentConfig.model_validate({"host_id": "term-002", "interval_s": 3600, "state_dir": str(tmp_path / "agent"),
                                       "collector": {"urls": urls, "enroll_secret": secret,
                                                     "token_file": str(tmp_path / "agent/token"),
                                                     "ca_file": str(ca) if ca else None, "timeout_s": 5}})


def test_an_agent_enrolls_and_ships_through_the_collector_that_answers(collector, tmp_path: Path) -> None:
    away = f"http://127.0.0.1:{free_port()}"
    agent = Agent.create(config(tmp_path, [away, collector.url], collector.secret))
    produce(agent, 0, 120)
    assert agent.shipper is not None and agent.shipper.flush()
    assert agent.shipper.client.url == collector.url and (tmp_path / "agent/token").exists()
    agent.stop()
    assert stored(collector.db, "term-002") == (120, 120, 0, 119)


def test_every_collector_url_is_held_to_the_pinned_ca(tls_collector, tmp_path: Path) -> None:  # noqa: F811
    url, ca, secret, db = tls_collector
    port = url.rsplit(":", 1)[1]
    away = f"https://127.0.0.1:{free_port()}"
    unnamed = f"https://localhost:{port}"  # the same collector, under a name its certificate does not carry
    agent = Agent.create(config(tmp_path, [away, unnamed, url], secret, ca))
    agent.submit([agent.heartbeat()])
    assert agent.shipper is not None and agent.shipper.flush()
    assert agent.shipper.client.url == url
    agent.stop()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM observations WHERE subject_id = 'term-002'"
                            " AND kind = 'agent.heartbeat'").fetchone()[0] == 1


def test_an_importer_given_two_collectors_reaches_the_one_that_answers(collector, tmp_path: Path) -> None:
    token = source_token(collector, "accounts-import", "collection_system")
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    day = f"{datetime.now(UTC) - timedelta(days=1):%Y-%m-%d}"
    (tmp_path / "log.csv").write_text(_day_log(day), encoding="utf-8")
    args = ["audit", "accounts", "--users", str(tmp_path / "users.csv"), "--logins", str(tmp_path / "log.csv"),
            "--now", f"{day}T22:00", "--json"]
    both = f"http://127.0.0.1:{free_port()},{collector.url}"
    r = cli(*args, env={"CLAUSEWATCH_TOKEN": token, "CLAUSEWATCH_COLLECTOR": both})
    assert r.returncode == 1, r.stderr
    assert finding_once(collector, "NO-SHARED-ACCOUNTS", lambda f: f["status"] == "fail").get("status") == "fail"
    bad = cli(*args, "--collector", f"{collector.url},collector:8443", env={"CLAUSEWATCH_TOKEN": token})
    assert bad.returncode == 2 and "--collector" in bad.stderr and "collector:8443" in bad.stderr
