"""The built-in notifier against real servers: aiosmtpd on loopback, and a real collector posting to a webhook."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
import yaml
from aiosmtpd.controller import Controller

from collector.notify.alerts import Alert, Notification
from collector.notify.config import EmailConfig
from collector.notify.receivers import DeliveryError, EmailReceiver
from tests.integration.conftest import PASSWORD, Collector, cli, free_port
from tests.integration.monitoring import WebhookReceiver

pytestmark = pytest.mark.integration


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode("utf-8")))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def notification() -> Notification:
    now = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    alert = Alert({"alertname": "UPS-RUNTIME", "subject": "ups-1", "team": "facility"},
                  {"summary": "UPS-RUNTIME fails on ups ups-1 / ups-1 不合规", "description": "runtime 900 s / 续航"},
                  now)
    return Notification("facility-mail", "g", {"team": "facility"}, [alert], "http://cw.local")


def test_mail_reaches_smtp_server(smtp):
    controller, inbox = smtp
    config = EmailConfig.model_validate({"smarthost": f"127.0.0.1:{controller.port}", "from": "cw@site.local",
                                         "to": ["facility@site.local"], "starttls": False})
    EmailReceiver("facility-mail", config).deliver(notification())
    ((sender, rcpts, content),) = inbox.messages
    assert sender == "cw@site.local" and rcpts == ["facility@site.local"]
    assert "FIRING" in content and "ups-1" in content


def test_mail_to_closed_port_is_a_delivery_error():
    config = EmailConfig.model_validate({"smarthost": f"127.0.0.1:{free_port()}", "from": "a@b", "to": ["c@d"],
                                         "starttls": False, "timeout_s": 2})
    with pytest.raises(DeliveryError):
        EmailReceiver("m", config).deliver(notification())


@pytest.fixture
def notifying_collector(tmp_path, monkeypatch):
    from collector import auth
    from collector.store.sqlite import SqliteStore

    hook = WebhookReceiver()
    hook.start()
    config = tmp_path / "notify.yaml"
    config.write_text(yaml.safe_dump({
        "group_wait_s": 0, "group_interval_s": 1, "repeat_interval_s": 3600, "retry_delays_s": [1],
        "routes": [{"match": {"team": "facility"}, "receivers": ["hook", "dead"]}],
        "receivers": [{"name": "hook", "webhook": {"url": hook.url}},
                      {"name": "dead", "webhook": {"url": f"http://127.0.0.1:{free_port()}/", "timeout_s": 1}}]}))
    monkeypatch.setenv("CLAUSEWATCH_NOTIFY_CONFIG", str(config))
    db = tmp_path / "cw.db"
    store = SqliteStore(db)
    token = auth.create_source_token(store, "nut", ["ups"])
    auth.add_user(store, "auditor", "auditor", PASSWORD)
    store.close()
    c = Collector(db, free_port())
    c.tokens["nut"] = token
    c.start()
    yield c, hook
    c.kill(15)
    hook.stop()


def ups(runtime_s: float, n: int) -> dict:
    return {"observations": [{"id": f"ups-obs-{n:04d}", "source": "nut", "subject_kind": "ups", "subject_id": "ups-1",
                              "kind": "ups.status", "observed_at": datetime.now(UTC).isoformat(),
                              "payload": {"status": "OL", "flags": ["OL"], "battery_runtime_s": runtime_s,
                                          "error": None}}]}


def test_collector_notifies_failing_and_resolved_findings(notifying_collector):
    c, hook = notifying_collector
    with c.client("nut") as http:
        http.post("/api/v1/observations", json=ups(2400, 1)).raise_for_status()
        http.post("/api/v1/observations", json=ups(900, 2)).raise_for_status()
        fired = hook.wait_for(lambda b: b["status"] == "firing" and any(
            a["labels"]["control"] == "UPS-RUNTIME" for a in b["alerts"]), timeout_s=20)
        assert fired is not None, hook.bodies
        alert = next(a for a in fired["alerts"] if a["labels"]["control"] == "UPS-RUNTIME")
        assert alert["labels"]["team"] == "facility" and "15 min" in alert["annotations"]["description"]  # 900 s
        http.post("/api/v1/observations", json=ups(2500, 3)).raise_for_status()
    resolved = hook.wait_for(lambda b: b["status"] == "resolved", timeout_s=20)
    assert resolved is not None and resolved["alerts"][0]["labels"]["subject"] == "ups-1"
    log = cli("notifications", "--db", str(c.db), "--json")
    entries = json.loads(log.stdout)
    assert log.returncode == 1  # the dead receiver's latest attempt failed, and says so
    dead = [e for e in entries if e["receiver"] == "dead"]
    assert dead and not any(e["ok"] for e in dead) and {e["attempt"] for e in dead} >= {1, 2}
    assert any(e["receiver"] == "hook" and e["ok"] and e["status"] == "resolved" for e in entries)
    metrics = httpx.get(c.url + "/metrics", headers={"Authorization": f"Bearer {c.login('auditor')}"}).text
    assert 'clausewatch_notifications_total{receiver="dead",result="failed"}' in metrics
