"""USB probe on a sysfs tree laid out from umockdev-record files."""
from __future__ import annotations

from pathlib import Path

import pytest

from agents.config import AgentConfig
from agents.env import run_command
from agents.once import judge
from agents.probes import usb
from tests.agents.conftest import NOW
from tests.agents.sysfs_tree import build_sysfs

USB = Path(__file__).resolve().parents[2] / "fixtures" / "agent" / "usb"
STICK = "sandisk-cruzer.umockdev"


def sysfs(tmp_path: Path, *names: str) -> Path:
    return build_sysfs(tmp_path / "sys", *[USB / n for n in names])


def usb_finding(observations) -> dict:
    return next(f for f in judge(observations, NOW) if f["control"] == "USB-BLOCK")


def test_probe_blocks_the_stick_and_reports_the_block(make_env, tmp_path: Path) -> None:
    env = make_env(sysfs=sysfs(tmp_path, "logitech-keyboard.umockdev", STICK))
    obs = usb.gather(env)
    inventory, blocks = obs[0], obs[1:]
    assert [(d["port"], d["authorized"]) for d in inventory.payload["devices"]] == [("1-1", True), ("1-2", False)]
    assert [b.kind for b in blocks] == ["usb.block"]
    assert blocks[0].payload["serial"] == "4C530001230810117421" and blocks[0].payload["action"] == "deauthorized"
    authorized = tmp_path / "sys/devices/pci0000:00/0000:00:14.0/usb1/1-2/authorized"
    assert authorized.read_text() == "0"
    assert usb_finding(obs)["status"] == "pass"


@pytest.mark.parametrize("usb_cfg, reason", [
    pytest.param({"enforce": False}, "switched off", id="enforcement off"),
    pytest.param({"mode": "off"}, "switched off", id="mode off"),
])
def test_storage_left_usable_fails(make_env, tmp_path: Path, usb_cfg: dict, reason: str) -> None:
    env = make_env(AgentConfig.model_validate({"usb": usb_cfg}), sysfs=sysfs(tmp_path, STICK))
    obs = usb.gather(env)
    assert reason in obs[0].payload["reason"]
    f = usb_finding(obs)
    assert f["status"] == "fail" and "0781:5567" in f["reason"]["en"]


def test_unwritable_sysfs_is_reported_as_not_enforced(make_env, tmp_path: Path) -> None:
    root = sysfs(tmp_path, STICK)
    target = root / "devices/pci0000:00/0000:00:14.0/usb1/1-2/authorized"
    target.unlink()
    target.mkdir()  # writing now fails whatever our privileges
    obs = usb.gather(make_env(sysfs=root))
    assert obs[0].payload["policy_ok"] is False and "cannot deauthorise" in obs[0].payload["reason"]
    assert obs[1].payload["action"] == "deauthorize_failed"
    assert usb_finding(obs)["status"] == "fail"


def test_allow_listed_stick_stays(make_env, tmp_path: Path) -> None:
    cfg = AgentConfig.model_validate({"usb": {"allow": ["0781:5567:4C530001230810117421"]}})
    obs = usb.gather(make_env(cfg, sysfs=sysfs(tmp_path, STICK)))
    assert len(obs) == 1 and obs[0].payload["devices"][0]["allowed"] is True
    assert usb_finding(obs)["status"] == "pass"


def test_usbguard_mode_writes_the_policy_and_reports_the_daemon(make_env, tmp_path: Path) -> None:
    rules = tmp_path / "usbguard" / "rules.conf"
    cfg = AgentConfig.model_validate({"usb": {"mode": "usbguard", "usbguard_rules": str(rules)}})
    env = make_env(cfg, sysfs=sysfs(tmp_path, STICK))
    env.run = run_command  # real usbguard-rule-parser; no daemon runs here, so list-devices fails
    obs = usb.gather(env)
    p = obs[0].payload
    assert p["enforcement"] == "usbguard" and p["policy_ok"] is False
    assert "rewritten" in p["reason"] and "daemon not answering" in p["reason"]
    assert rules.read_text().endswith("allow\n")
    assert usb_finding(obs)["status"] == "fail"
