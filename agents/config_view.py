"""The agent's validated configuration for the resident process, without pydantic in it.

The pydantic model in agents/config.py stays the one definition of keys, defaults and checks: a
short-lived child (`python -m agents.config FILE`) validates the file and hands back the values,
which become attribute namespaces shaped like AgentConfig. pydantic and its schemas would
otherwise stay in the idle agent's memory for its whole life.
"""
from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from agents.config import AgentConfig


class ConfigViewError(Exception):
    """The file did not validate; the message names the file and the key (as ConfigError does)."""


def _view(value: Any) -> Any:
    if isinstance(value, dict):
        return SimpleNamespace(**{k: _view(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_view(v) for v in value]
    return value


def load_config_view(path: Path) -> AgentConfig:
    """Validate `path` in a child process and return its values (attribute access as on AgentConfig)."""
    r = subprocess.run([sys.executable, "-m", "agents.config", str(path)], capture_output=True, timeout=120,
                       check=False)
    if r.returncode != 0:
        text = r.stderr.decode(errors="replace").strip().splitlines()
        raise ConfigViewError((text[-1] if text else f"exit {r.returncode}").removeprefix("error: "))
    # our own child's output (same interpreter, same package), so unpickling it is safe
    return cast("AgentConfig", _view(pickle.loads(r.stdout)))  # noqa: S301
