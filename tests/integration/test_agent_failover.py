"""An agent given several collector URLs enrolls and ships through the first that answers, over TLS
pinned to the site CA for every one of them."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agents.config import AgentConfig
from agents.daemon import Agent
from tests.integration.conftest import free_port
from tests.integration.test_agent_delivery import produce, stored
from tests.integration.test_agent_tls import tls_collector  # noqa: F401 (fixture)

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
