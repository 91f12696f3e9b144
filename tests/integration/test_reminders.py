"""Evidence expiry reminders through a real collector's built-in notifier: mail to a real SMTP
server (aiosmtpd) for the facility role, a webhook for managers; once per threshold."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from email import message_from_string
from email.message import EmailMessage
from email.policy import default
from zoneinfo import ZoneInfo

import pytest
import yaml
from aiosmtpd.controller import Controller

from tests.integration.conftest import PASSWORD, Collector, cli, free_port
from tests.integration.monitoring import WebhookReceiver
from tests.integration.test_notify import Inbox

pytestmark = pytest.mark.integration


@pytest.fixture
def reminding_collector(tmp_path, monkeypatch):
    from collector import auth
    from collector.store.sqlite import SqliteStore

    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    hooks = {"manager": WebhookReceiver(), "security": WebhookReceiver()}
    for h in hooks.values():
        h.start()
    config = tmp_path / "notify.yaml"
    config.write_text(yaml.safe_dump({
        "group_wait_s": 0, "group_interval_s": 1, "repeat_interval_s": 1, "retry_delays_s": [1],
        "routes": [{"match": {"team": "facility"}, "receivers": ["facility-mail"]},
                   {"match": {"team": "manager"}, "receivers": ["manager-hook"]}, {"receivers": ["security-hook"]}],
        "receivers": [{"name": "facility-mail", "email": {"smarthost": f"127.0.0.1:{smtp.port}", "from": "cw@site",
                                                         "to": ["facility@site"], "starttls": False}},
                      {"name": "manager-hook", "webhook": {"url": hooks["manager"].url}},
                      {"name": "security-hook", "webhook": {"url": hooks["security"].url}}]}))
    monkeypatch.setenv("CLAUSEWATCH_NOTIFY_CONFIG", str(config))
    db = tmp_path / "cw.db"
    store = SqliteStore(db)
    for user in ("facility", "manager"):
        auth.add_user(store, user, user, PASSWORD)
    store.close()
    c = Collector(db, free_port())
    c.start()
    for user in ("facility", "manager"):
        c.login(user)
    yield c, inbox, hooks
    c.kill(15)
    for h in hooks.values():
        h.stop()
    smtp.stop()


def _upload(c: Collector, who: str, control: str, days: int) -> None:
    until = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=days)
    r = c.client(who).post("/api/v1/evidence", data={"control": control, "valid_until": str(until)},
                           files={"file": ("record.pdf", f"%PDF-1.4 {control}".encode(), "application/pdf")})
    assert r.status_code == 201, r.text


def _hook_reminders(hook: WebhookReceiver) -> list[tuple[str, str]]:
    return [(a["labels"]["control"], a["labels"]["reminder"]) for b in list(hook.bodies) for a in b["alerts"]
            if a["labels"]["alertname"] == "EvidenceExpiring"]


def _mail_reminders(inbox: Inbox) -> list[EmailMessage]:
    msgs = [message_from_string(content, policy=default) for _, _, content in list(inbox.messages)]
    return [m for m in msgs if "EvidenceExpiring" in m.get_content() or "证据将于" in m.get_content()]


def test_expiry_reminders_reach_the_owner_roles_receivers_once(reminding_collector):
    c, inbox, hooks = reminding_collector
    _upload(c, "facility", "EXTINGUISHER-OFFICE", 5)  # owner facility: mail; 7-day threshold reached
    _upload(c, "manager", "BADGE-POLICY", 10)  # owner manager: webhook; 14-day threshold reached
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (_mail_reminders(inbox) and _hook_reminders(hooks["manager"])):
        time.sleep(0.3)
    (mail,) = _mail_reminders(inbox)
    body = mail.get_content()
    assert mail["To"] == "facility@site" and "control=EXTINGUISHER-OFFICE" in mail["Subject"]
    assert mail["Subject"].startswith("[提醒 REMINDER:1]") and "提醒 / Reminder" in body
    assert "evidence expires on" in body and "within 7 days" in body and "7 天内" in body
    assert _hook_reminders(hooks["manager"]) == [("BADGE-POLICY", "14d")]
    time.sleep(5)  # several sweeps and repeat intervals later: nothing sent again
    assert len(_mail_reminders(inbox)) == 1 and _hook_reminders(hooks["manager"]) == [("BADGE-POLICY", "14d")]
    assert _hook_reminders(hooks["security"]) == []
    log = json.loads(cli("notifications", "--db", str(c.db), "--json", "--limit", "100000").stdout)  # all of it
    assert any(e["receiver"] == "facility-mail" and e["ok"] for e in log)
    expiring = c.client("facility").get("/api/v1/evidence/expiring").json()
    assert {r["control"] for r in expiring["reminders"]} == {"EXTINGUISHER-OFFICE", "BADGE-POLICY"}
