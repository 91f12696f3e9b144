"""Enrollment against a real collector: the site secret enrolls new hosts only; taking over an
enrolled host's name needs the one-time code an admin issued for it; all of it is in the ledger."""
from __future__ import annotations

import logging
import sqlite3
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest

from tests.integration.conftest import PASSWORD, cli

pytestmark = pytest.mark.integration


def enroll(collector, host: str, code: str | None = None, secret: str | None = None) -> httpx.Response:
    return httpx.post(collector.url + "/api/v1/enroll", json={"secret": secret or collector.secret, "host_id": host,
                                                              "reenroll_code": code})


def post_usb(collector, token: str, host: str) -> httpx.Response:
    return httpx.post(collector.url + "/api/v1/observations", headers={"Authorization": f"Bearer {token}"},
                      json={"observations": [{"id": str(uuid.uuid4()), "source": "agent", "subject_kind": "host",
                                              "subject_id": host, "kind": "usb.devices",
                                              "observed_at": datetime.now(UTC).isoformat(),
                                              "payload": {"enforcement": "sysfs", "devices": []}}]})


def ledger(collector, type_prefix: str = "") -> list[dict]:
    with sqlite3.connect(collector.db) as db:
        entries = [orjson.loads(b) for (b,) in db.execute("SELECT body FROM ledger ORDER BY seq")]
    return [e for e in entries if e["type"].startswith(type_prefix)]


def admin(collector) -> httpx.Client:
    collector.login("admin")
    return collector.client("admin")


def test_the_enroll_secret_cannot_take_over_an_enrolled_host(collector):
    host_b = enroll(collector, "host-b").json()["token"]
    taken = enroll(collector, "host-b")
    assert taken.status_code == 409 and "already enrolled" in taken.json()["detail"]
    assert "token" not in taken.json()
    forged_code = enroll(collector, "host-b", code="cwr_guessed-code")
    assert forged_code.status_code == 403
    assert post_usb(collector, host_b, "host-b").status_code == 200  # host-b's own token still works
    refusals = ledger(collector, "agent.enroll_refused")
    assert [(e["data"]["host_id"], e["data"]["code_given"]) for e in refusals] == [("host-b", False),
                                                                                   ("host-b", True)]
    assert [e["data"]["host_id"] for e in ledger(collector, "agent.enrolled")] == ["host-b"]


def test_an_admin_code_lets_the_host_enroll_again_once(collector):
    old = enroll(collector, "host-b").json()["token"]
    enroll(collector, "host-a")
    issued = admin(collector).post("/api/v1/agents/host-b/reenroll-code")
    assert issued.status_code == 201
    code = issued.json()["code"]
    assert enroll(collector, "host-a", code=code).status_code == 403  # a code is for its own host only
    again = enroll(collector, "host-b", code=code)
    assert again.status_code == 200
    assert post_usb(collector, old, "host-b").status_code == 401  # the lost (or stolen) token is dead
    assert post_usb(collector, again.json()["token"], "host-b").status_code == 200
    assert enroll(collector, "host-b", code=code).status_code == 403  # used once
    [reenrolled] = ledger(collector, "agent.reenrolled")
    assert reenrolled["data"]["host_id"] == "host-b" and reenrolled["data"]["code_issued_by"] == "user:admin"
    assert [e["actor"] for e in ledger(collector, "agent.reenroll_code_issued")] == ["user:admin"]
    assert admin(collector).post("/api/v1/agents/nobody/reenroll-code").status_code == 404


def test_the_secret_is_single_purpose_and_rotates(collector):
    assert httpx.get(collector.url + "/api/v1/findings",
                     headers={"Authorization": f"Bearer {collector.secret}"}).status_code == 401
    collector.login("security")
    assert collector.client("security").post("/api/v1/enroll-secrets/rotate").status_code == 403
    assert collector.client("security").post("/api/v1/agents/h/reenroll-code").status_code == 403
    rotated = admin(collector).post("/api/v1/enroll-secrets/rotate")
    assert rotated.status_code == 201
    assert enroll(collector, "host-new").status_code == 401  # the old secret is revoked
    assert enroll(collector, "host-new", secret=rotated.json()["secret"]).status_code == 200
    [entry] = ledger(collector, "enroll_secret.rotated")
    assert entry["data"]["id"] == rotated.json()["id"] and len(entry["data"]["revoked"]) == 1


def test_cli_rotates_the_secret_and_issues_codes(collector):
    enroll(collector, "host-b")
    res = cli("enroll-secret", "--rotate", "--db", str(collector.db))
    assert res.returncode == 0 and res.stdout.strip().startswith("cwe_"), res.stderr
    assert enroll(collector, "host-c").status_code == 401
    new_secret = res.stdout.strip()
    code = cli("reenroll-code", "host-b", "--db", str(collector.db), "--json")
    assert code.returncode == 0, code.stderr
    assert enroll(collector, "host-b", code=orjson.loads(code.stdout)["code"], secret=new_secret).status_code == 200
    unknown = cli("reenroll-code", "nobody", "--db", str(collector.db))
    assert unknown.returncode == 2 and "nobody is not enrolled" in unknown.stderr
    assert cli("ledger", "verify", "--db", str(collector.db)).returncode == 0


def test_the_admin_page_lists_enrollments_refusals_and_issues_codes(collector):
    import re

    enroll(collector, "host-b")
    enroll(collector, "host-b")  # refused
    c = httpx.Client(base_url=collector.url, follow_redirects=True, timeout=30)
    c.post("/login", data={"username": "admin", "password": PASSWORD})
    page = c.get("/admin").text
    history = page[page.index('class="enrollments"'):]
    assert "host-b" in history and "拒绝重新注册" in history and "已注册" in history
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = c.post("/admin/reenroll-codes", data={"host_id": "host-b", "csrf_token": csrf})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    code = re.search(r'id="new-code" readonly value="([^"]+)"', r.text).group(1)
    assert enroll(collector, "host-b", code=code).status_code == 200
    assert code not in c.get("/admin").text
    rotated = c.post("/admin/enroll-secrets", data={"csrf_token": csrf, "rotate": "1"})
    assert rotated.status_code == 200 and enroll(collector, "host-z").status_code == 401


def test_an_agent_refused_re_enrollment_says_so_keeps_spooling_and_recovers_with_a_code(collector, tmp_path: Path,
                                                                                      caplog):
    from agents.daemon import Agent
    from tests.integration.test_agent_delivery import agent_config, produce, stored, wait_empty

    code_file = tmp_path / "reenroll.code"
    cfg = agent_config(tmp_path, collector, reenroll_code_file=str(code_file))
    agent = Agent.create(cfg)
    agent.start()
    produce(agent, 0, 50)
    wait_empty(agent)
    agent.stop()
    (tmp_path / "agent/token").unlink()  # reinstalled: the token is gone, the host id is the same

    caplog.set_level(logging.INFO, logger="agents.ship")
    agent = Agent.create(cfg)
    agent.start()
    produce(agent, 50, 20)
    deadline = time.monotonic() + 30
    while not ledger(collector, "agent.enroll_refused") and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)  # several back-off rounds (at most 0.5 s each)
    assert agent.spool.stats().pending == 20
    assert len(ledger(collector, "agent.enroll_refused")) == 1  # asked once, not at every retry
    refused = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("refused to enroll term-001 again" in m and "clausewatch reenroll-code term-001" in m
               for m in refused), refused

    code = cli("reenroll-code", "term-001", "--db", str(collector.db)).stdout.strip()
    code_file.write_text(code + "\n")
    agent.wake.set()
    wait_empty(agent, timeout_s=60)
    agent.stop()
    assert stored(collector.db, "term-001")[0] == 70
    assert [e["data"]["host_id"] for e in ledger(collector, "agent.reenrolled")] == ["term-001"]
