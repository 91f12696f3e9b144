from __future__ import annotations

import pytest

from agents.once import judge
from agents.probes import FAILSAFE, load_probes, run_probes
from tests.agents.conftest import NOW


def broken(env):
    raise PermissionError("/proc/net/tcp: permission denied")


@pytest.mark.parametrize("name, control", [
    pytest.param("usb", "USB-BLOCK", id="usb"),
    pytest.param("antivirus", "AV-RUNNING", id="antivirus"),
    pytest.param("software", "SOFTWARE-ALLOWLIST", id="software"),
])
def test_a_crashing_probe_still_reports_and_never_passes(make_env, name: str, control: str) -> None:
    obs = run_probes(make_env(), {name: broken})
    assert [o.kind for o in obs] == [FAILSAFE[name][0]]
    assert "PermissionError" in obs[0].payload["probe_error"]
    assert next(f for f in judge(obs, NOW) if f["control"] == control)["status"] in ("fail", "unknown")


def test_every_builtin_probe_is_loaded() -> None:
    assert set(load_probes()) >= set(FAILSAFE)
