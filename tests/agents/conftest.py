"""Agent test fixtures: an Env over temporary roots, a fixed clock, a scripted command runner."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agents.config import AgentConfig
from agents.env import CommandResult, Env

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


class ScriptedRunner:
    """Answers commands from a table {program: CommandResult}; anything else is 'not found'."""

    def __init__(self, answers: dict[str, CommandResult] | None = None):
        self.answers = answers or {}
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str], timeout_s: float) -> CommandResult:
        self.calls.append(list(argv))
        return self.answers.get(argv[0], CommandResult(127, "", f"{argv[0]}: not found"))


@pytest.fixture
def make_env(tmp_path: Path):
    def make(config: AgentConfig | None = None, answers: dict[str, CommandResult] | None = None,
             which: dict[str, str] | None = None, **kw) -> Env:
        root = tmp_path / "root"
        (root / "etc").mkdir(parents=True, exist_ok=True)
        for d in ("sys", "proc"):
            (tmp_path / d).mkdir(exist_ok=True)
        return Env(config=config or AgentConfig(), host_id="term-001",
                   sysfs=kw.pop("sysfs", tmp_path / "sys"), proc=kw.pop("proc", tmp_path / "proc"), root=root,
                   run=ScriptedRunner(answers), clock=lambda: NOW,
                   which=lambda name: (which or {}).get(name), **kw)
    return make
