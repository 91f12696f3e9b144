"""The poller configuration file (YAML): which UPSes and probes to ask, and how often."""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from collector.sources.importers.tables import InputError, load_yaml_mapping
from collector.sources.pollers.modbus import ModbusProbe
from collector.sources.pollers.nut import UpsTarget
from collector.sources.pollers.nut_client import DEFAULT_PORT
from collector.sources.pollers.snmp import SnmpTarget


class NutUps(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ups: str
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    id: str = ""
    username: str | None = None
    password_file: Path | None = None  # secrets stay out of the config file
    room: str = Field(default="", max_length=100)
    hosts: list[str] = Field(default_factory=list)

    def target(self) -> UpsTarget:
        password = self.password_file.read_text().strip() if self.password_file else None
        return UpsTarget(self.ups, self.host, self.port, self.id, self.username, password, self.room, tuple(self.hosts))


class PollConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    site: str = "default"
    interval_s: float = Field(default=10.0, gt=0)
    timeout_s: float = Field(default=5.0, gt=0)
    ups: list[NutUps] = Field(default_factory=list)
    modbus: list[ModbusProbe] = Field(default_factory=list)
    snmp: list[SnmpTarget] = Field(default_factory=list)


def load_poll_config(path: Path) -> PollConfig:
    doc = load_yaml_mapping(path, "poller configuration")
    try:
        return PollConfig.model_validate(doc)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InputError(path, None, err["msg"], where) from None
