"""Notifier configuration (YAML): receivers, routes by label, grouping and timing."""
from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator


class WebhookConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(pattern=r"^https?://")
    timeout_s: float = 10.0


class EmailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    smarthost: str  # host:port
    sender: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    starttls: bool = True
    username: str | None = None
    password_file: Path | None = None
    timeout_s: float = 10.0

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.smarthost.rpartition(":")
        return host, int(port)


class ReceiverConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    webhook: WebhookConfig | None = None
    email: EmailConfig | None = None

    @model_validator(mode="after")
    def _one(self) -> ReceiverConfig:
        if (self.webhook is None) == (self.email is None):
            raise ValueError(f"receiver {self.name!r} needs exactly one of webhook, email")
        return self


class Route(BaseModel):
    model_config = ConfigDict(extra="forbid")
    match: dict[str, str] = Field(default_factory=dict)  # all labels must equal; empty matches everything
    receivers: list[str] = Field(min_length=1)

    def matches(self, labels: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match.items())


class InhibitRule(BaseModel):
    """As Alertmanager's: while a firing alert matches `source_match`, alerts matching `target_match`
    with the same values of the `equal` labels (absent counts as empty) are not sent."""

    model_config = ConfigDict(extra="forbid")
    source_match: dict[str, str] = Field(min_length=1)
    target_match: dict[str, str] = Field(min_length=1)
    equal: list[str] = Field(default_factory=lambda: ["site", "room"])

    def is_source(self, labels: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.source_match.items())

    def mutes(self, source: dict[str, str], target: dict[str, str]) -> bool:
        return all(target.get(k) == v for k, v in self.target_match.items()) and \
            all(source.get(k, "") == target.get(k, "") for k in self.equal)


def _power_inhibitions() -> list[InhibitRule]:
    """A UPS on battery explains, in its own room, hosts going quiet, the room warming and probes
    losing power, and a runtime short of the requirement (deploy/alertmanager/alertmanager.yml)."""
    source = {"alertname": "UpsOnBattery"}
    return [InhibitRule(source_match=source, target_match=target) for target in (
        {"control": "AGENT-REPORTING"}, {"control": "CLIMATE-RANGE"}, {"control": "UPS-RUNTIME", "status": "fail"})]


class NotifyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group_by: list[str] = Field(default_factory=lambda: ["team", "site", "control"])
    group_wait_s: float = 30.0
    group_interval_s: float = 300.0
    repeat_interval_s: float = 4 * 3600.0
    retry_delays_s: list[float] = Field(default_factory=lambda: [10.0, 60.0, 300.0])
    # how long a collector's claim to send a notification holds before another collector sharing the
    # store sends it instead (longer than a receiver's timeout)
    claim_timeout_s: float = Field(default=120.0, gt=0)
    external_url: str = "http://127.0.0.1:8080"
    routes: list[Route] = Field(min_length=1)
    receivers: list[ReceiverConfig] = Field(min_length=1)
    inhibit_rules: list[InhibitRule] = Field(default_factory=_power_inhibitions)

    @model_validator(mode="after")
    def _known(self) -> NotifyConfig:
        names = {r.name for r in self.receivers}
        unknown = {n for r in self.routes for n in r.receivers} - names
        if unknown:
            raise ValueError(f"routes name unknown receivers: {', '.join(sorted(unknown))}")
        return self

    def receivers_for(self, labels: dict[str, str]) -> list[str]:
        """The first matching route decides, as in Alertmanager."""
        for route in self.routes:
            if route.matches(labels):
                return route.receivers
        return []


def load_notify_config(path: Path) -> NotifyConfig:
    return NotifyConfig.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
