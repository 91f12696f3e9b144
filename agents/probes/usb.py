"""USB inventory and the state of its blocking; sweeps (enforces) when enforcement is on."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from agents.enforce.usb import Block, SysfsEnforcer, UsbPolicy, new_devices_held
from agents.env import Env
from agents.observation import AgentObservation
from agents.usb import UsbDevice, devices_dir, read_devices, udev_devices


def policy_of(env: Env) -> UsbPolicy:
    return UsbPolicy.build(env.config.usb.block_classes, env.config.usb.allow)


def block_observation(env: Env, block: Block) -> AgentObservation:
    return env.observe("usb.block", block.as_payload(), key=f"{block.device.sys_name}@{block.at.isoformat()}")


def udev_lister(env: Env) -> Callable[[], list[UsbDevice]] | None:
    """On the host's real /sys, list devices through libudev (pyudev); elsewhere read the tree given."""
    if env.sysfs != Path("/sys"):
        return None
    try:
        import pyudev
    except ImportError:
        return None
    return lambda: udev_devices(pyudev.Context())


def _usbguard_state(env: Env, policy: UsbPolicy) -> tuple[bool, str, list[dict] | None]:
    """Policy file in place (written when it differs), the daemon answering, and its devices."""
    from agents.enforce.usbguard import ensure_policy, parse_devices

    ok, what = ensure_policy(env.config.usb.usbguard_rules, policy, env.run)
    if not ok:
        return False, what, None
    res = env.run(["usbguard", "list-devices"], 5.0)
    if res.returncode != 0:
        err = (res.stderr or res.stdout).strip()[:200] or f"exit {res.returncode}"
        return False, f"{what}; usbguard daemon not answering: {err}", None
    devices = [{**d.as_payload(), "allowed": policy.allowed(d), "target": target}
               for d, target in parse_devices(res.stdout)]
    return True, f"{what}; usbguard daemon answering", devices


def gather(env: Env) -> list[AgentObservation]:
    cfg = env.config.usb
    policy = policy_of(env)
    out: list[AgentObservation] = []
    daemon_devices: list[dict] | None = None
    bus = devices_dir(env.sysfs)
    if not cfg.enforce or cfg.mode == "off":
        enforcement, policy_ok, reason = "none", False, "USB enforcement is switched off in the agent config"
        devices = read_devices(env.sysfs)
    elif cfg.mode == "usbguard":
        policy_ok, reason, daemon_devices = _usbguard_state(env, policy)
        enforcement = "usbguard"
        devices = read_devices(env.sysfs)
    else:
        enforcement = "sysfs"
        enforcer = SysfsEnforcer(env.sysfs, policy, env.clock, lister=udev_lister(env))
        devices, blocks = enforcer.sweep()
        out.extend(block_observation(env, b) for b in blocks)
        failures = [b.error for b in blocks if b.error]
        if failures:
            policy_ok, reason = False, "cannot deauthorise: " + "; ".join(str(f) for f in failures[:3])
        elif not bus.is_dir():
            policy_ok, reason = True, f"no USB bus in {env.sysfs} (no USB controller visible)"
        elif env.sysfs == Path("/sys") and os.geteuid() != 0:
            policy_ok, reason = False, "agent is not root: it cannot write authorized=0"
        else:
            policy_ok, reason = True, f"{len(devices)} device(s) checked, {len(blocks)} blocked now"
    payload = {"enforcement": enforcement, "policy_ok": policy_ok, "reason": reason,
               "new_devices_held": new_devices_held(env.sysfs),
               "block_classes": sorted(policy.block_classes), "allowlist": list(cfg.allow),
               "devices": [{**d.as_payload(), "allowed": policy.allowed(d)} for d in devices]}
    if daemon_devices is not None:
        payload["devices"] = daemon_devices  # the daemon's view: what it allowed and blocked
    out.insert(0, env.observe("usb.devices", payload))
    return out
