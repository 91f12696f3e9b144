"""What the kernel does with `authorized_default`, played on a umockdev testbed, and a recorder of writes.

umockdev copies attributes as they were recorded; it does not hold a new device because its root
hub says `authorized_default=0`. `plug` does what the kernel does: the device node appears with
`authorized` set from its root hub's default, and its interfaces (a driver's way in) appear only
once it is authorised (`bind_authorized`). `WriteRecorder` watches each device's directory with
inotify before the device exists (the testbed emits the `add` uevent as it adds it), so every
write to `authorized` after the testbed created it, even one undone at once, is seen.
"""
from __future__ import annotations

import ctypes
import os
import re
import select
import struct
from pathlib import Path
from typing import Any

IN_MODIFY, IN_MOVED_TO = 0x00000002, 0x00000080
_EVENT = struct.Struct("iIII")


def records(file: Path) -> list[str]:
    """The device records of a .umockdev file, parents first."""
    return sorted((r.strip() + "\n" for r in file.read_text().split("\n\n") if r.strip()),
                  key=lambda r: r.split("\n", 1)[0])


def sys_path(record: str) -> str:
    return "/sys" + record.split("\n", 1)[0].removeprefix("P: ")


def is_interface(record: str) -> bool:
    return ":" in sys_path(record).rsplit("/", 1)[1]


def root_hub_default(root: Path, record: str) -> str:
    hub = next((p for p in sys_path(record).split("/") if re.fullmatch(r"usb\d+", p)), None)
    if hub is None:
        return "1"
    return (root / "bus" / "usb" / "devices" / hub / "authorized_default").read_text().strip()


class WriteRecorder:
    """Writes to each watched device's `authorized`, with the value each left (read when its event is handled).

    The testbed creates attribute files by renaming a temporary file into place (the first
    `IN_MOVED_TO`); the enforcer writes in place (`IN_MODIFY`): every event after the creation is a write.
    """

    def __init__(self) -> None:
        self.libc = ctypes.CDLL("libc.so.6", use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self.fd >= 0, os.strerror(ctypes.get_errno())
        self.dirs: dict[int, Path] = {}
        self.created: set[str] = set()
        self.writes: dict[str, list[str]] = {}

    def watch(self, device_dir: Path) -> None:
        device_dir.mkdir(parents=True, exist_ok=True)
        wd = self.libc.inotify_add_watch(self.fd, str(device_dir).encode(), IN_MODIFY | IN_MOVED_TO)
        assert wd >= 0, f"{device_dir}: {os.strerror(ctypes.get_errno())}"
        self.dirs[wd] = device_dir
        self.writes[device_dir.name] = []

    def collect(self, timeout_s: float = 0.0) -> None:
        while select.select([self.fd], [], [], timeout_s)[0]:
            data = os.read(self.fd, 65536)
            off = 0
            while off < len(data):
                wd, mask, _, length = _EVENT.unpack_from(data, off)
                name = data[off + _EVENT.size:off + _EVENT.size + length].rstrip(b"\0").decode()
                off += _EVENT.size + length
                device = self.dirs[wd]
                if name != "authorized":
                    continue
                if mask & IN_MOVED_TO and device.name not in self.created:
                    self.created.add(device.name)
                    continue
                value = (device / name).read_text().strip()
                if value:  # empty: read between the write's truncation and its data; its next event has the value
                    self.writes[device.name].append(value)
            timeout_s = 0.0


def plug(tb: Any, root: Path, file: Path, recorder: WriteRecorder) -> list[str]:
    """Hot-plug one device as the kernel would; returns its interface records, held back until authorised."""
    recs = records(file)
    device = [r for r in recs if not is_interface(r)]
    interfaces = [r for r in recs if is_interface(r)]
    for rec in device:
        held = root_hub_default(root, rec)
        recorder.watch(root / sys_path(rec).removeprefix("/sys/"))
        # the testbed emits the "add" uevent itself
        tb.add_from_string(re.sub(r"^A: authorized=\d$", f"A: authorized={held}", rec, flags=re.M))
    return interfaces


def bind_authorized(tb: Any, root: Path, interfaces: list[str]) -> None:
    """Interfaces of authorised devices appear, as the kernel configures a device once it may."""
    for rec in interfaces:
        device = sys_path(rec).rsplit("/", 1)[1].split(":", 1)[0]
        if (root / "bus" / "usb" / "devices" / device / "authorized").read_text().strip() == "1":
            tb.add_from_string(rec)
