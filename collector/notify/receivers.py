"""Delivering one notification: webhook (Alertmanager's JSON) or mail (bilingual plain text)."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any, Protocol

import httpx

from collector.notify.alerts import Notification
from collector.notify.config import EmailConfig, ReceiverConfig, WebhookConfig


class DeliveryError(Exception):
    pass


class Receiver(Protocol):
    name: str

    def deliver(self, n: Notification) -> None: ...


class WebhookReceiver:
    def __init__(self, name: str, config: WebhookConfig, client: httpx.Client | None = None):
        self.name, self.config = name, config
        self.client = client or httpx.Client(timeout=config.timeout_s)

    def deliver(self, n: Notification) -> None:
        try:
            r = self.client.post(self.config.url, json=n.webhook_payload())
        except httpx.HTTPError as e:
            raise DeliveryError(f"{type(e).__name__}: {e}") from None
        if r.status_code >= 300:
            raise DeliveryError(f"HTTP {r.status_code}: {r.text[:200]}")


def mail_text(n: Notification) -> tuple[str, str]:
    """(subject, body) in Chinese and English."""
    firing = [a for a in n.alerts if a.firing]
    resolved = [a for a in n.alerts if not a.firing]
    head = " ".join(f"{k}={v}" for k, v in n.group_labels.items())
    # one-off notices (expiry reminders, labelled `reminder`) are not alarms: say so
    remind = bool(firing) and all("reminder" in a.labels for a in firing)
    subject = (f"[{('提醒 REMINDER' if remind else '告警 FIRING') if firing else '已恢复 RESOLVED'}:"
               f"{len(firing) or len(resolved)}] {head}")
    lines: list[str] = []
    for title, alerts in (("提醒 / Reminder" if remind else "告警 / Firing", firing), ("已恢复 / Resolved", resolved)):
        if alerts:
            lines += [title, "-" * len(title)]
            for a in alerts:
                lines += [a.annotations.get("summary", a.labels.get("alertname", "")),
                          "  " + a.annotations.get("description", ""),
                          f"  since {a.starts_at.isoformat()}" + (f", resolved {a.ends_at.isoformat()}" if a.ends_at
                                                                 else ""),
                          f"  runbook: {a.annotations.get('runbook_url', '')}", ""]
    lines.append(f"{n.external_url}")
    return subject, "\n".join(lines)


class EmailReceiver:
    def __init__(self, name: str, config: EmailConfig, smtp: Any = smtplib.SMTP):
        self.name, self.config, self.smtp = name, config, smtp

    def deliver(self, n: Notification) -> None:
        subject, body = mail_text(n)
        msg = EmailMessage()
        msg["Subject"], msg["From"], msg["To"] = subject, self.config.sender, ", ".join(self.config.to)
        msg.set_content(body)
        host, port = self.config.host_port
        try:
            with self.smtp(host, port, timeout=self.config.timeout_s) as s:
                if self.config.starttls:
                    s.starttls()
                if self.config.username:
                    password = self.config.password_file.read_text().strip() if self.config.password_file else ""
                    s.login(self.config.username, password)
                s.send_message(msg)
        except (OSError, smtplib.SMTPException) as e:
            raise DeliveryError(f"{type(e).__name__}: {e}") from None


def build_receiver(config: ReceiverConfig) -> Receiver:
    if config.webhook is not None:
        return WebhookReceiver(config.name, config.webhook)
    assert config.email is not None
    return EmailReceiver(config.name, config.email)
