"""USB blocking through sysfs, block first: new devices arrive unauthorised and only allowed ones are authorised.

A device is blocked when any of its classes (device, interface, or interface descriptor) is in
`block_classes` (mass storage 08, still image / MTP 06, wireless e0, vendor-specific ff) and its
`vendor:product:serial` is not on the allow-list. Keyboards and mice (HID, 03) pass. The resident
agent writes `authorized_default=0` on every root hub, so the kernel binds no driver to a new
device until the agent writes `authorized=1`; a device whose classes cannot be read stays out.
A device found authorised and forbidden (a hub the agent could not hold) is deauthorised.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from agents.usb import UsbDevice, devices_dir, read_device, read_devices

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UsbPolicy:
    block_classes: frozenset[str] = frozenset({"08", "06", "e0", "ff"})
    # "vendor:product:serial"; serial "*" allows every serial of that model. Kept as written: USBGuard
    # matches serials case-sensitively; the sysfs enforcer compares without case.
    allow: tuple[str, ...] = ()

    @classmethod
    def build(cls, block_classes: Iterable[str], allow: Iterable[str]) -> UsbPolicy:
        return cls(frozenset(c.lower() for c in block_classes), tuple(allow))

    def allowed(self, dev: UsbDevice) -> bool:
        vid, pid, serial = dev.vendor_id.lower(), dev.product_id.lower(), dev.serial.lower()
        for entry in self.allow:
            parts = entry.lower().split(":")
            if len(parts) == 2:
                parts.append("*")
            if len(parts) == 3 and parts[0] == vid and parts[1] == pid and parts[2] in ("*", serial):
                return True
        return False

    def must_block(self, dev: UsbDevice) -> bool:
        return bool(self.block_classes & set(dev.classes)) and not self.allowed(dev)

    def may_authorize(self, dev: UsbDevice) -> bool:
        """Fail closed: a device whose classes are unknown (no descriptors read) is not let in."""
        return bool(dev.classes) and not self.must_block(dev)


@dataclass
class Block:
    """One deauthorisation: what was blocked, when, how, and how long after the event."""

    device: UsbDevice
    at: datetime
    action: str  # deauthorized | deauthorize_failed | kept_unauthorized (arrived held, never authorised)
    latency_ms: float | None = None
    error: str | None = None

    def as_payload(self) -> dict[str, Any]:
        return {**self.device.as_payload(), "action": self.action, "at": self.at.isoformat(),
                "latency_ms": self.latency_ms, "error": self.error}


def root_hubs(sysfs: Path) -> list[Path]:
    try:
        return sorted(p for p in devices_dir(sysfs).iterdir() if p.name.startswith("usb"))
    except OSError:
        return []


def new_devices_held(sysfs: Path) -> bool | None:
    """True when every root hub holds new devices unauthorised (`authorized_default` 0); None: no USB bus."""
    values = []
    for hub in root_hubs(sysfs):
        try:
            values.append((hub / "authorized_default").read_text().strip())
        except OSError:
            values.append("")
    return all(v == "0" for v in values) if values else None


@dataclass
class SysfsEnforcer:
    """Holds new devices, authorises allowed ones and deauthorises forbidden ones under a sysfs root.

    `on_block` receives every block (the agent spools them).
    """

    sysfs: Path
    policy: UsbPolicy
    clock: Callable[[], datetime]
    on_block: Callable[[Block], None] = lambda b: None
    blocks: list[Block] = field(default_factory=list)
    # the inventory to sweep; default: read sysfs directly (the agent passes pyudev's view on a real /sys)
    lister: Callable[[], list[UsbDevice]] | None = None
    authorized: list[str] = field(default_factory=list)  # sys names this enforcer let in
    # ports whose forbidden device is already recorded as blocked: a repeated "add" (udevadm trigger)
    # records nothing new; "remove" forgets the port so the next device there is recorded
    _recorded: set[str] = field(default_factory=set)

    def hold_new_devices(self) -> list[str]:
        """`authorized_default=0` on every root hub; the problems, one per hub that refused.

        Left in place when the agent stops: a device plugged in while no agent runs waits unauthorised.
        """
        problems = []
        for hub in root_hubs(self.sysfs):
            problem = self._hold(hub)
            if problem:
                problems.append(problem)
        return problems

    def _hold(self, hub: Path) -> str | None:
        try:
            (hub / "authorized_default").write_text("0")
        except OSError as e:
            log.error("USB %s: cannot hold new devices: %s", hub.name, e.strerror)
            return f"{hub / 'authorized_default'}: {e.strerror}"
        return None

    def authorize(self, dev: UsbDevice) -> bool:
        target = devices_dir(self.sysfs) / dev.sys_name / "authorized"
        try:
            target.write_text("1")
        except OSError as e:
            log.error("USB %s %s: cannot authorise: %s", dev.identity, dev.name, e.strerror)
            return False
        dev.authorized = True
        self.authorized.append(dev.sys_name)
        log.info("USB %s %s (%s) authorised", dev.identity, dev.name, ",".join(dev.classes))
        return True

    def keep_blocked(self, dev: UsbDevice) -> Block:
        """A forbidden device that arrived held: nothing to write, the block is recorded."""
        block = Block(dev, self.clock(), "kept_unauthorized")
        self._recorded.add(dev.sys_name)
        self.blocks.append(block)
        log.warning("USB %s %s (%s) kept unauthorised", dev.identity, dev.name, ",".join(dev.classes))
        self.on_block(block)
        return block

    def deauthorize(self, dev: UsbDevice, started: float | None = None) -> Block:
        target = devices_dir(self.sysfs) / dev.sys_name / "authorized"
        try:
            with open(target, "w") as f:
                f.write("0")
            action, error = "deauthorized", None
            dev.authorized = False
        except OSError as e:
            action, error = "deauthorize_failed", f"{target}: {e.strerror}"
        latency = round((time.perf_counter() - started) * 1000, 3) if started is not None else None
        block = Block(dev, self.clock(), action, latency, error)
        self._recorded.add(dev.sys_name)
        self.blocks.append(block)
        log.warning("USB %s %s (%s) %s", dev.identity, dev.name, ",".join(dev.classes), action)
        self.on_block(block)
        return block

    def sweep(self) -> tuple[list[UsbDevice], list[Block]]:
        """Every present device checked: the forbidden ones deauthorised, allowed ones held back let in."""
        devices = self.lister() if self.lister is not None else read_devices(self.sysfs)
        done = [self.deauthorize(d) for d in devices if d.authorized and self.policy.must_block(d)]
        for d in devices:
            if not d.authorized and self.policy.may_authorize(d):
                self.authorize(d)
        return devices, done

    def on_event(self, action: str, sys_name: str, started: float | None = None) -> Block | None:
        """A udev event for a USB device or interface: judge the device it belongs to."""
        if action == "remove":
            self._recorded.discard(sys_name)
        if action not in ("add", "bind", "change"):
            return None
        if sys_name.startswith("usb"):  # a new bus (controller hot-plugged): hold its devices too
            if action == "add":
                self._hold(devices_dir(self.sysfs) / sys_name)
            return None
        dev = read_device(self.sysfs, sys_name.split(":", 1)[0])
        if dev is None:
            return None
        if dev.authorized:
            return self.deauthorize(dev, started) if self.policy.must_block(dev) else None
        if self.policy.may_authorize(dev):
            self.authorize(dev)
            return None
        fresh = action == "add" and ":" not in sys_name and sys_name not in self._recorded
        return self.keep_blocked(dev) if fresh else None


def watch_udev(enforcer: SysfsEnforcer, context: Any, stop: Callable[[], bool], poll_s: float = 0.5) -> None:
    """React to udev `add` events (pyudev monitor) until `stop()` is true."""
    import pyudev

    monitor = pyudev.Monitor.from_netlink(context)
    monitor.filter_by(subsystem="usb")
    monitor.start()
    while not stop():
        device = monitor.poll(timeout=poll_s)
        if device is None:
            continue
        started = time.perf_counter()
        try:
            enforcer.on_event(device.action or "", device.sys_name, started)
        except Exception:  # one odd device must not end the watch
            log.exception("USB event for %s", device.sys_name)
