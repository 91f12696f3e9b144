"""USB blocking: the policy, and the enforcer against umockdev's simulated sysfs and udev events."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agents.enforce.usb import UsbPolicy
from agents.usb import UsbDevice, descriptor_classes

ROOT = Path(__file__).resolve().parents[3]
USB = ROOT / "tests" / "fixtures" / "agent" / "usb"
ALLOWED_STICK = "0951:1666:E0D55EA573DCF450E97C0A8C"


def dev(classes: list[str], vid: str = "0781", pid: str = "5567", serial: str = "AA01") -> UsbDevice:
    return UsbDevice("1-1", vid, pid, serial, "x", classes)


@pytest.mark.parametrize("device, allow, blocked", [
    pytest.param(dev(["03"]), [], False, id="keyboard passes"),
    pytest.param(dev(["03", "03"]), [], False, id="keyboard and mouse interfaces pass"),
    pytest.param(dev(["08"]), [], True, id="mass storage blocked"),
    pytest.param(dev(["06"]), [], True, id="MTP phone blocked"),
    pytest.param(dev(["e0"]), [], True, id="bluetooth dongle blocked"),
    pytest.param(dev(["ff"]), [], True, id="vendor specific blocked"),
    pytest.param(dev(["03", "08"]), [], True, id="keyboard with hidden storage blocked"),
    pytest.param(dev(["08"]), ["0781:5567:AA01"], False, id="allow-listed serial passes"),
    pytest.param(dev(["08"]), ["0781:5567:BB02"], True, id="other serial of an allowed model blocked"),
    pytest.param(dev(["08"]), ["0781:5567:*"], False, id="model wildcard passes"),
    pytest.param(dev(["08"], vid="0781"), ["0781:5567"], False, id="vendor:product means any serial"),
    pytest.param(dev(["08"], serial="aa01"), ["0781:5567:AA01"], False, id="serial case ignored"),
])
def test_policy(device: UsbDevice, allow: list[str], blocked: bool) -> None:
    assert UsbPolicy.build(["08", "06", "e0", "ff"], allow).must_block(device) is blocked


@pytest.mark.parametrize("device, allowed", [
    pytest.param(dev(["03"]), True, id="keyboard let in"),
    pytest.param(dev(["09"]), True, id="hub let in"),
    pytest.param(dev(["08"], serial="ZZ99"), False, id="storage held"),
    pytest.param(dev([]), False, id="classes unknown (no descriptors): held"),
    pytest.param(dev(["08"], serial="AA01"), True, id="allow-listed stick let in"),
])
def test_held_device_is_authorised_only_when_the_policy_allows(device: UsbDevice, allowed: bool) -> None:
    assert UsbPolicy.build(["08", "06", "e0", "ff"], ["0781:5567:AA01"]).may_authorize(device) is allowed


def _descriptors(name: str) -> bytes:
    return bytes.fromhex(re.search(r"^H: descriptors=(\w+)$", (USB / name).read_text(), re.M).group(1))


@pytest.mark.parametrize("raw, classes", [
    pytest.param(_descriptors("sandisk-cruzer.umockdev"), ["08"], id="stick: mass storage interface"),
    pytest.param(_descriptors("logitech-keyboard.umockdev"), ["03"], id="keyboard: two HID interfaces"),
    pytest.param(_descriptors("android-phone-mtp.umockdev"), ["06"], id="phone: still image"),
    pytest.param(_descriptors("sandisk-cruzer.umockdev")[:22], [], id="cut inside the interface descriptor"),
    pytest.param(b"\x12\x01" + b"\x00" * 16 + b"\x00\x04", [], id="zero length descriptor stops the walk"),
    pytest.param(b"", [], id="nothing readable"),
])
def test_interface_classes_from_raw_descriptors(raw: bytes, classes: list[str]) -> None:
    """An unauthorised device has no interfaces in sysfs: its descriptors are what it is judged by."""
    assert descriptor_classes(raw) == classes


def umockdev(mode: str, *files: str, allow: tuple[str, ...] = (ALLOWED_STICK,), extra: tuple[str, ...] = ()) -> dict:
    if not shutil.which("umockdev-wrapper"):
        pytest.fail("umockdev-wrapper missing: install the Debian packages in deploy/apt/agent.txt")
    argv = ["umockdev-wrapper", sys.executable, "-m", "tests.agents.umockdev_bed", mode,
            *[a for x in allow for a in ("--allow", x)], *extra, *[str(USB / f) for f in files]]
    for _ in range(3):
        r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60)
        # umockdev's simulated uevent socket can overflow on a busy machine (EAGAIN in its sender):
        # that is the test bed failing, not the enforcer, so run the bed again
        if "sendmsg failed: Resource temporarily unavailable" not in r.stderr:
            break
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


ALL = ("root-hub.umockdev", "logitech-keyboard.umockdev", "sandisk-cruzer.umockdev", "kingston-allowed.umockdev",
       "android-phone-mtp.umockdev")
EXPECTED_AUTHORIZED = {"1-1": True, "1-2": False, "1-3": True, "1-4": False}


@pytest.mark.integration
def test_startup_sweep_deauthorises_storage_and_phone_only() -> None:
    out = umockdev("sweep", *ALL)
    assert all(d["authorized"] for d in out["before"].values())
    assert {k: v["authorized"] for k, v in out["after"].items()} == EXPECTED_AUTHORIZED
    assert sorted(f"{b['vendor_id']}:{b['product_id']}:{b['serial']}" for b in out["blocks"]) == [
        "0781:5567:4C530001230810117421", "18d1:4ee1:0A1B2C3D4E5F"]
    assert all(b["action"] == "deauthorized" and b["at"] for b in out["blocks"])


@pytest.mark.integration
def test_hotplug_add_events_are_blocked_through_the_udev_monitor() -> None:
    out = umockdev("hotplug", *ALL)
    assert {k: v["authorized"] for k, v in out["after"].items()} == EXPECTED_AUTHORIZED
    blocked = {b["port"] for b in out["blocks"]}
    assert blocked == {"1-2", "1-4"}
    assert all(b["latency_ms"] is not None and b["latency_ms"] < 50 for b in out["blocks"])


@pytest.mark.integration
def test_allow_list_empty_blocks_the_kingston_stick_too() -> None:
    out = umockdev("sweep", *ALL, allow=())
    assert out["after"]["1-3"]["authorized"] is False


@pytest.mark.integration
def test_udev_and_sysfs_inventories_agree_on_the_testbed() -> None:
    out = umockdev("inventory", *ALL)
    assert out["udev"] == out["sysfs"]
    assert [d["port"] for d in out["udev"]] == ["1-1", "1-2", "1-3", "1-4"]
    assert out["udev"][1]["classes"] == ["08"] and out["udev"][0]["classes"] == ["03"]


def test_this_machines_real_devices_through_pyudev() -> None:
    import pyudev

    from agents.usb import read_devices, udev_devices

    via_udev = udev_devices(pyudev.Context())
    assert [d.sys_name for d in via_udev] == [d.sys_name for d in read_devices(Path("/sys"))]
    for d in via_udev:
        assert len(d.vendor_id) == 4 and len(d.product_id) == 4


def test_usbguard_rules_pass_usbguards_own_parser(tmp_path: Path) -> None:
    from agents.enforce.usbguard import ensure_policy, policy_rules, validate
    from agents.env import run_command

    policy = UsbPolicy.build(["08", "06", "e0", "ff"], [ALLOWED_STICK, "046d:c52b:*", 'abcd:0001:we"ird'])
    rules = policy_rules(policy)
    assert validate(rules, run_command) == (True, "rules parsed by usbguard-rule-parser")
    assert rules.splitlines()[1:] == [
        'allow id 0951:1666 serial "E0D55EA573DCF450E97C0A8C"', "allow id 046d:c52b",
        'allow id abcd:0001 serial "we\\"ird"', "block with-interface one-of { 06:*:* 08:*:* e0:*:* ff:*:* }", "allow"]
    target = tmp_path / "rules.conf"
    assert ensure_policy(target, policy, run_command)[0] and "rewritten" in ensure_policy(
        tmp_path / "other.conf", policy, run_command)[1]
    assert "holds the site policy" in ensure_policy(target, policy, run_command)[1]
    assert target.stat().st_mode & 0o777 == 0o600


def test_usbguard_parser_rejects_broken_rules() -> None:
    from agents.enforce.usbguard import validate
    from agents.env import run_command

    ok, detail = validate('allow id 0951:1666 serial "unterminated\n', run_command)
    assert not ok and "<rules>:1" in detail


@pytest.mark.integration
def test_probe_on_sys_lists_through_pyudev_and_writes_through_sys() -> None:
    """The probe as on a real host (sysfs "/sys"), with umockdev's preload standing in for the kernel."""
    out = umockdev("probe", *ALL)
    inventory = out["observations"][0]["payload"]
    assert inventory["policy_ok"] is True and inventory["reason"] == "4 device(s) checked, 2 blocked now"
    assert {d["port"]: (d["authorized"], d["allowed"]) for d in inventory["devices"]} == {
        "1-1": (True, False), "1-2": (False, False), "1-3": (True, True), "1-4": (False, False)}
    assert [o["kind"] for o in out["observations"][1:]] == ["usb.block", "usb.block"]
    assert {k: v["authorized"] for k, v in out["after"].items()} == EXPECTED_AUTHORIZED


@pytest.mark.integration
def test_running_agent_blocks_hotplugged_devices_and_spools_the_blocks() -> None:
    out = umockdev("agent", *ALL)
    assert out["usb_watch"] == "udev"
    assert {k: v["authorized"] for k, v in out["after"].items()} == EXPECTED_AUTHORIZED
    assert sorted(b["port"] for b in out["blocks"]) == ["1-2", "1-4"]
    assert all(b["latency_ms"] is not None for b in out["blocks"])


@pytest.mark.integration
def test_block_first_a_forbidden_device_is_never_authorised_not_even_briefly() -> None:
    """The agent holds new devices before any arrives; the kernel (played by the bed) keeps them
    unauthorised; the agent writes `authorized=1` for the keyboard and the allow-listed stick only.
    Every write to each device's `authorized` is recorded from before the device exists."""
    out = umockdev("block-first", *ALL)
    assert out["default_before_start"] == "1"
    assert out["default_before_hotplug"] == "0"
    assert out["writes"]["1-2"] == [] and out["writes"]["1-4"] == []  # stick and phone: never written at all
    assert out["writes"]["1-1"] and set(out["writes"]["1-1"]) == {"1"}
    assert out["writes"]["1-3"] and set(out["writes"]["1-3"]) == {"1"}
    assert {k: v["authorized"] for k, v in out["after"].items()} == EXPECTED_AUTHORIZED
    assert sorted((b["port"], b["action"]) for b in out["blocks"]) == [
        ("1-2", "kept_unauthorized"), ("1-4", "kept_unauthorized")]
    assert out["inventory"]["new_devices_held"] is True
    # stopping the agent restores nothing: devices plugged in while it is down still wait unauthorised
    assert out["default_after_stop"] == "0"
