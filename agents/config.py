"""The agent's TOML configuration: one pydantic model, errors name the file and the key."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from agents.shipping.http import check_url

DEFAULT_SPOOL_BYTES = 200 * 1024 * 1024
CollectorUrl = Annotated[str, AfterValidator(check_url)]


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names the file and the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CollectorConfig(_Section):
    url: CollectorUrl | None = None  # e.g. https://collector.site:8443; None: observations stay in the spool
    # several collectors of one store, tried in turn when one is away; `url` alone is the list of one
    urls: list[CollectorUrl] = Field(default_factory=list)
    enroll_secret: str | None = None
    enroll_secret_file: Path | None = None
    # only to enroll again a host the collector already knows: the one-time code `clausewatch reenroll-code HOST`
    reenroll_code: str | None = None
    reenroll_code_file: Path | None = None
    token_file: Path = Path("/var/lib/clausewatch/agent.token")  # keep it readable by root only
    ca_file: Path | None = None
    timeout_s: float = Field(default=10.0, gt=0)
    batch_size: int = Field(default=500, ge=1, le=5000)
    backoff_initial_s: float = Field(default=1.0, gt=0)
    backoff_max_s: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _url_in_urls(self) -> CollectorConfig:
        """`urls` is the list everything reads: an old configuration's `url` becomes its only entry."""
        if self.url and self.urls:
            raise ValueError("give either url or urls, not both")
        if self.url:
            self.urls = [self.url]
        return self


class UsbConfig(_Section):
    enforce: bool = True
    mode: Literal["sysfs", "usbguard", "off"] = "sysfs"
    block_classes: list[str] = Field(default_factory=lambda: ["08", "06", "e0", "ff"])
    allow: list[str] = Field(default_factory=list)  # "vendor:product:serial", serial may be "*"
    usbguard_rules: Path = Path("/etc/usbguard/rules.conf")


class AntivirusConfig(_Section):
    database_dirs: list[Path] = Field(default_factory=lambda: [Path("/var/lib/clamav")])
    clamd_socket: Path | None = None  # default: LocalSocket from clamd.conf
    clamd_conf: Path = Path("/etc/clamav/clamd.conf")
    freshclam_conf: Path = Path("/etc/clamav/freshclam.conf")
    eicar_test: bool = True
    eicar_timeout_s: float = Field(default=30.0, gt=0)
    # without clamd, each clamscan run loads every signature (seconds of CPU): prove it less often
    eicar_clamscan_every_s: float = Field(default=21600.0, ge=0)
    scan_log: Path | None = None  # a clamscan --log file whose last summary gives the last scan time


class CanaryTarget(_Section):
    host: str
    port: int = Field(ge=1, le=65535)


class MailConfig(_Section):
    canaries: list[CanaryTarget] = Field(default_factory=list)
    timeout_s: float = Field(default=2.0, gt=0)


class InternetConfig(_Section):
    canary: CanaryTarget | None = None
    dns_name: str = "www.baidu.com"
    timeout_s: float = Field(default=2.0, gt=0)


class SoftwareConfig(_Section):
    allowlist: list[str] = Field(default_factory=list)  # package names; '*' suffix is a prefix match
    allowlist_file: Path | None = None
    include_packages: bool = False


class PiiConfig(_Section):
    """Where bank data could linger on this host; scanned fully on a schedule and watched for changes."""

    roots: list[Path] = Field(default_factory=list)  # none: the scanner does not run
    exclude: list[str] = Field(default_factory=list)  # globs
    manifests: list[Path] = Field(default_factory=list)  # batch hash manifests (match findings to batches)
    full_every_h: float = Field(default=24.0, gt=0)


class PathsConfig(_Section):
    """Where the host's file systems are (a containerised agent sees the host's under a mount)."""

    sysfs: Path = Path("/sys")
    proc: Path = Path("/proc")
    root: Path = Path("/")


class AgentConfig(_Section):
    host_id: str | None = None  # default: /etc/machine-id
    site: str = "default"
    interval_s: float = Field(default=60.0, gt=0)
    state_dir: Path = Path("/var/lib/clausewatch")
    spool_max_bytes: int = Field(default=DEFAULT_SPOOL_BYTES, ge=1024 * 1024)
    osquery: bool = True
    tamper_hold_s: float = Field(default=86400.0, ge=0)  # how long heartbeats keep reporting a tamper
    paths: PathsConfig = Field(default_factory=PathsConfig)
    collector: CollectorConfig = Field(default_factory=CollectorConfig)
    usb: UsbConfig = Field(default_factory=UsbConfig)
    antivirus: AntivirusConfig = Field(default_factory=AntivirusConfig)
    mail: MailConfig = Field(default_factory=MailConfig)
    internet: InternetConfig = Field(default_factory=InternetConfig)
    software: SoftwareConfig = Field(default_factory=SoftwareConfig)
    pii: PiiConfig = Field(default_factory=PiiConfig)


def load_config(path: Path) -> AgentConfig:
    """Read and validate a TOML file; ConfigError names the file, and the key or line at fault."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text ({e.reason})") from None
    except (tomllib.TOMLDecodeError, RecursionError) as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    if not text.strip():  # a failed copy, not a wish for every default: the agent would run unconfigured
        raise ConfigError(f"{path}: empty file: no configuration")
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise ConfigError(f"{path}: key '{key}': {err['msg']}") from None


def main(argv: list[str]) -> int:
    """`python -m agents.config FILE`: the validated values (defaults filled) as a pickle on stdout, for
    the resident agent (agents/config_view.py), which does not load pydantic; exit 2 naming the fault."""
    import pickle
    import sys

    try:
        cfg = load_config(Path(argv[0]))
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    sys.stdout.buffer.write(pickle.dumps(cfg.model_dump()))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
