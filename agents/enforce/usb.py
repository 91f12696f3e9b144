"""USB blocking through sysfs: deauthorise storage-capable devices that are not allow-listed.

A device is blocked when any of its classes (device or interface) is in `block_classes`
(mass storage 08, still image / MTP 06, wireless e0, vendor-specific ff) and its
`vendor:product:serial` is not on the allow-list. Keyboards and mice (HID, 03) pass.
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


@dataclass
class Block:
    """One deauthorisation: what was blocked, when, how, and how long after the event."""

    device: UsbDevice
    at: datetime
    action: str  # deauthorized | deauthorize_failed
    latency_ms: float | None = None
    error: str | None = None

    def as_payload(self) -> dict[str, Any]:
        return {**self.device.as_payload(), "action": self.action, "at": self.at.isoformat(),
                "latency_ms": self.latency_ms, "error": self.error}


@dataclass
class SysfsEnforcer:
    """Writes `authorized=0` under a sysfs root; `on_block` receives every block (the agent spools them)."""

    sysfs: Path
    policy: UsbPolicy
    clock: Callable[[], datetime]
    on_block: Callable[[Block], None] = lambda b: None
    blocks: list[Block] = field(default_factory=list)
    # the inventory to sweep; default: read sysfs directly (the agent passes pyudev's view on a real /sys)
    lister: Callable[[], list[UsbDevice]] | None = None

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
        self.blocks.append(block)
        log.warning("USB %s %s (%s) %s", dev.identity, dev.name, ",".join(dev.classes), action)
        self.on_block(block)
        return block

    def sweep(self) -> tuple[list[UsbDevice], list[Block]]:
        """Start-up sweep: every present device checked, the forbidden ones deauthorised."""
        devices = self.lister() if self.lister is not None else read_devices(self.sysfs)
        done = [self.deauthorize(d) for d in devices if d.authorized and self.policy.must_block(d)]
        return devices, done

    def on_event(self, action: str, sys_name: str, started: float | None = None) -> Block | None:
        """A udev event for a USB device or interface: judge the device it belongs to."""
        if action not in ("add", "bind", "change"):
            return None
        dev = read_device(self.sysfs, sys_name.split(":", 1)[0])
        if dev is None or not dev.authorized or not self.policy.must_block(dev):
            return None
        return self.deauthorize(dev, started)


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
