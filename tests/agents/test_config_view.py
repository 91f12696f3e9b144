"""The resident agent's configuration: validated by the pydantic model in a child, used without it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agents.config import load_config
from agents.config_view import ConfigViewError, load_config_view

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "agent.toml"


def test_view_holds_the_validated_values_with_defaults() -> None:
    view, model = load_config_view(EXAMPLE), load_config(EXAMPLE)
    assert view.collector.url == model.collector.url and view.interval_s == model.interval_s
    assert view.state_dir == model.state_dir and isinstance(view.state_dir, Path)
    assert [(c.host, c.port) for c in view.mail.canaries] == [(c.host, c.port) for c in model.mail.canaries]
    assert view.pii.full_every_h == model.pii.full_every_h  # a default the file does not set


def test_bad_file_names_file_and_key(tmp_path: Path) -> None:
    f = tmp_path / "agent.toml"
    f.write_text("[usb]\nmode = 'maybe'\n")
    with pytest.raises(ConfigViewError) as e:
        load_config_view(f)
    assert str(e.value).startswith(f"{f}: key 'usb.mode'")


def test_resident_agent_runs_a_round_without_pydantic(tmp_path: Path) -> None:
    """pydantic and its schemas would take half of the idle agent's memory budget."""
    conf = tmp_path / "agent.toml"
    conf.write_text(f'state_dir = "{tmp_path / "state"}"\n[antivirus]\neicar_test = false\n')
    code = ("import sys; from pathlib import Path; from agents.config_view import load_config_view;"
            "from agents.daemon import Agent; p = Path(sys.argv[1]); a = Agent.create(load_config_view(p), p);"
            "a.run(iterations=1); from agents.shipping.spool import Spool; n = Spool(a.spool.path).stats().pending;"
            "print(n, sorted(m for m in sys.modules if 'pydantic' in m))")
    r = subprocess.run([sys.executable, "-c", code, str(conf)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    pending, modules = r.stdout.split(" ", 1)
    assert int(pending) >= 2 and modules.strip() == "[]"
