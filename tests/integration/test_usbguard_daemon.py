"""The real usbguard-daemon enforcing the policy the agent writes, on umockdev devices.

usbguard's umockdev backend builds its own testbed inside the daemon from the `.umockdev` files in
`USBGUARD_UMOCKDEV_DEVICEDIR` and takes a file created there as a hot-plug. A USB device is only
taken when its parent is already defined, so the root hub and its PCI controller are loaded first
(`root-hub.umockdev`), and devices are hard-linked in, so the file is complete when inotify fires.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.config import AgentConfig
from agents.env import Env, run_command
from agents.probes import usb
from rules.catalog import default_catalog
from rules.evaluate import evaluate

pytestmark = [pytest.mark.integration, pytest.mark.skipif(
    not (shutil.which("usbguard-daemon") and shutil.which("umockdev-wrapper")) or os.geteuid() != 0,
    reason="needs usbguard-daemon, umockdev-wrapper and root (the daemon's IPC allows root here)")]

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "agent" / "usb"
KINGSTON = "0951:1666:E0D55EA573DCF450E97C0A8C"
# the daemon's IPC name ("usbguard") is one per network namespace: one daemon on this machine at a time
LOCK = Path("/tmp/clausewatch-usbguard-test.lock")


def list_devices() -> subprocess.CompletedProcess:
    return subprocess.run(["usbguard", "list-devices"], capture_output=True, text=True, timeout=10)


def wait_for(predicate, timeout_s: float = 20.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


class Daemon:
    def __init__(self, tmp: Path, rules: Path):
        self.devices = tmp / "devices"
        self.staging = tmp / "staging"
        self.devices.mkdir()
        self.staging.mkdir()
        shutil.copy(FIXTURES / "root-hub.umockdev", self.devices / "00-root-hub.umockdev")
        (tmp / "ipc").mkdir()
        self.conf = tmp / "usbguard-daemon.conf"
        self.conf.write_text(
            f"RuleFile={rules}\nImplicitPolicyTarget=block\nPresentDevicePolicy=apply-policy\n"
            "PresentControllerPolicy=keep\nInsertedDevicePolicy=apply-policy\nDeviceManagerBackend=umockdev\n"
            f"IPCAllowedUsers=root\nIPCAccessControlFiles={tmp / 'ipc'}\nAuditBackend=FileAudit\n"
            f"AuditFilePath={tmp / 'audit.log'}\n")
        self.conf.chmod(0o600)
        self.log = tmp / "daemon.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(["umockdev-wrapper", "usbguard-daemon", "-k", "-c", str(self.conf)],
                                         stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, "USBGUARD_UMOCKDEV_DEVICEDIR": str(self.devices)})
        wait_for(lambda: list_devices().returncode == 0 or self.proc.poll() is not None)
        assert self.proc.poll() is None, self.log.read_text(errors="replace")

    def plug(self, fixture: str) -> None:
        """Hot-plug: a hard link appears with its content complete (inotify IN_CREATE). The daemon takes
        one inotify event per read, so wait until it lists the device before plugging the next."""
        known = list_devices().stdout.count(" id ")
        staged = self.staging / fixture
        shutil.copy(FIXTURES / fixture, staged)
        os.link(staged, self.devices / fixture)
        wait_for(lambda: list_devices().stdout.count(" id ") > known)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)


@pytest.fixture
def usbguard_daemon(tmp_path: Path) -> Iterator[tuple[Daemon, Env]]:
    rules = tmp_path / "usbguard" / "rules.conf"
    cfg = AgentConfig.model_validate({"usb": {"mode": "usbguard", "usbguard_rules": str(rules),
                                              "allow": [KINGSTON]}})
    env = Env(config=cfg, host_id="term-001", sysfs=tmp_path / "sys", run=run_command)
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        daemon = Daemon(tmp_path, rules)
        try:
            yield daemon, env
        finally:
            daemon.stop()


def test_daemon_blocks_storage_and_allows_keyboard_by_the_agents_policy(usbguard_daemon) -> None:
    daemon, env = usbguard_daemon
    before = usb.gather(env)[0].payload  # the agent writes its policy; no daemon answers yet
    assert before["policy_ok"] is False and "daemon not answering" in before["reason"]
    assert env.config.usb.usbguard_rules.read_text().endswith("allow\n")
    daemon.start()  # reads the agent's rule file
    for fixture in ("logitech-keyboard.umockdev", "sandisk-cruzer.umockdev", "kingston-allowed.umockdev"):
        daemon.plug(fixture)

    obs = usb.gather(env)
    p = obs[0].payload
    assert p["enforcement"] == "usbguard" and p["policy_ok"] is True and "daemon answering" in p["reason"]
    seen = {(d["vendor_id"], d["product_id"]): (d["target"], d["authorized"]) for d in p["devices"]}
    assert seen == {("046d", "c31c"): ("allow", True), ("0781", "5567"): ("block", False),
                    ("0951", "1666"): ("allow", True)}
    stick = next(d for d in p["devices"] if d["vendor_id"] == "0781")
    assert stick["classes"] == ["08"] and stick["serial"] == "4C530001230810117421" and stick["port"] == "1-2"
    [finding] = [r for r in evaluate(list(default_catalog()), obs, env.clock()) if r.control == "USB-BLOCK"]
    assert finding.status == "pass"
    audit = (daemon.devices.parent / "audit.log").read_text(errors="replace")
    assert "target.new='block'" in audit and "/usb1/1-2'" in audit
