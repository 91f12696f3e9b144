"""The world a probe sees, injected so tests can point it at fakes and captures."""
from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.observation import AgentObservation

if TYPE_CHECKING:
    from agents.config import AgentConfig


def default_config() -> AgentConfig:
    from agents.config import AgentConfig

    return AgentConfig()


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str = ""


Runner = Callable[[Sequence[str], float], CommandResult]


def run_command(argv: Sequence[str], timeout_s: float) -> CommandResult:
    """Run a program; a missing program or a timeout is a result (127 / 124), not an exception."""
    try:
        p = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout_s, check=False)
    except FileNotFoundError:
        return CommandResult(127, "", f"{argv[0]}: not found")
    except subprocess.TimeoutExpired:
        return CommandResult(124, "", f"{argv[0]}: timed out after {timeout_s:g} s")
    return CommandResult(p.returncode, p.stdout, p.stderr)


def utc_now() -> datetime:
    return datetime.now(UTC)


def read_machine_id(root: Path = Path("/")) -> str:
    for p in (root / "etc/machine-id", root / "var/lib/dbus/machine-id"):
        try:
            text = p.read_text().strip()
        except OSError:
            continue
        if text:
            return text
    import socket

    return socket.gethostname()


@dataclass
class Env:
    """Where the machine is: sysfs and proc roots, the file-system root, programs, clock, config."""

    config: AgentConfig = field(default_factory=default_config)
    host_id: str = ""
    sysfs: Path = Path("/sys")
    proc: Path = Path("/proc")
    root: Path = Path("/")  # prefix for /etc, /var, /usr files the probes read
    run: Runner = run_command
    clock: Callable[[], datetime] = utc_now
    which: Callable[[str], str | None] = shutil.which
    platform: str = sys.platform  # linux, win32, darwin: which probes apply
    state_dir: Path | None = None  # where probes keep what they saw last; None: no memory (`agent once`)

    def __post_init__(self) -> None:
        if not self.host_id:
            self.host_id = self.config.host_id or read_machine_id(self.root)

    def path(self, absolute: str) -> Path:
        """A system path under this environment's root."""
        return self.root / absolute.lstrip("/")

    def observe(self, kind: str, payload: dict[str, Any], key: str = "") -> AgentObservation:
        return AgentObservation(source=f"agent:{self.host_id}", site=self.config.site, subject_kind="host",
                           subject_id=self.host_id, kind=kind, key=key, observed_at=self.clock(), payload=payload)
