"""USB devices as sysfs shows them: identity, interface classes and authorisation.

Reads `<sysfs>/bus/usb/devices`, so tests can point it at a umockdev testbed or a copied tree.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

_INTERFACE_RE = re.compile(r"^(?P<dev>\d+-[\d.]+):\d+\.\d+$")


@dataclass
class UsbDevice:
    sys_name: str  # e.g. "1-1.2"
    vendor_id: str
    product_id: str
    serial: str
    name: str
    classes: list[str] = field(default_factory=list)  # hex, device class (when not 00) and interface classes
    authorized: bool = True

    @property
    def identity(self) -> str:
        return f"{self.vendor_id}:{self.product_id}:{self.serial}"

    def as_payload(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("sys_name")
        return {**d, "port": self.sys_name}


def _attr(path: Path, name: str) -> str:
    try:
        return (path / name).read_text(errors="replace").strip()
    except OSError:
        return ""


def devices_dir(sysfs: Path) -> Path:
    return sysfs / "bus" / "usb" / "devices"


def interface_classes(sysfs: Path, sys_name: str) -> list[str]:
    """Interface classes of one device, from its `<dev>:<config>.<interface>` entries."""
    out = []
    base = devices_dir(sysfs)
    try:
        entries = sorted(p.name for p in base.iterdir())
    except OSError:
        return []
    for entry in entries:
        m = _INTERFACE_RE.match(entry)
        if m and m.group("dev") == sys_name:
            cls = _attr(base / entry, "bInterfaceClass").lower()
            if cls and cls not in out:
                out.append(cls)
    return out


def descriptor_classes(raw: bytes) -> list[str]:
    """Interface classes from a device's raw `descriptors` (device descriptor, then its configurations).

    The kernel keeps these for a device it has not authorised, whose interfaces do not exist yet:
    they are what a device is judged by before it may talk to a driver.
    """
    out: list[str] = []
    i = 0
    while i + 1 < len(raw):
        length, kind = raw[i], raw[i + 1]
        if length < 2:
            break  # a malformed descriptor: stop rather than loop; what was read is kept
        if kind == 4 and length >= 9 and i + 5 < len(raw):  # INTERFACE descriptor, bInterfaceClass at 5
            cls = f"{raw[i + 5]:02x}"
            if cls not in out:
                out.append(cls)
        i += length
    return out


def _descriptors(path: Path) -> bytes:
    try:
        return (path / "descriptors").read_bytes()
    except OSError:
        return b""


def _classes(dev_class: str, *interface_lists: list[str]) -> list[str]:
    classes = [dev_class] if dev_class and dev_class not in ("00", "ef") else []
    for cls in (c for lst in interface_lists for c in lst):
        if cls not in classes:
            classes.append(cls)
    return classes


def read_device(sysfs: Path, sys_name: str) -> UsbDevice | None:
    """One device by its sysfs name, or None when it is gone or is not a device (hub root, interface)."""
    path = devices_dir(sysfs) / sys_name
    vendor = _attr(path, "idVendor").lower()
    if not vendor or ":" in sys_name:
        return None
    classes = _classes(_attr(path, "bDeviceClass").lower(), interface_classes(sysfs, sys_name),
                       descriptor_classes(_descriptors(path)))
    name = " ".join(x for x in (_attr(path, "manufacturer"), _attr(path, "product")) if x)
    return UsbDevice(sys_name=sys_name, vendor_id=vendor, product_id=_attr(path, "idProduct").lower(),
                     serial=_attr(path, "serial"), name=name, classes=classes,
                     authorized=_attr(path, "authorized") != "0")


def read_devices(sysfs: Path) -> list[UsbDevice]:
    """Every USB device except root hubs (`usbN`), in port order."""
    try:
        names = sorted(p.name for p in devices_dir(sysfs).iterdir())
    except OSError:
        return []
    out = []
    for n in names:
        if n.startswith("usb"):
            continue
        dev = read_device(sysfs, n)
        if dev is not None:
            out.append(dev)
    return out


def _udev_attr(attrs: Any, key: str) -> str:
    try:
        return str(attrs.asstring(key)).strip()
    except (KeyError, UnicodeDecodeError):
        return ""


def udev_devices(context: Any) -> list[UsbDevice]:
    """The same inventory through libudev (pyudev), as udev sees it."""
    out = []
    for d in context.list_devices(subsystem="usb", DEVTYPE="usb_device"):
        if d.sys_name.startswith("usb"):
            continue
        a = d.attributes
        children = [_udev_attr(c.attributes, "bInterfaceClass").lower() for c in
                    sorted(d.children, key=lambda c: c.sys_name) if c.device_type == "usb_interface"]
        try:
            raw = bytes(a.get("descriptors") or b"")
        except (OSError, TypeError):
            raw = b""
        classes = _classes(_udev_attr(a, "bDeviceClass").lower(), [c for c in children if c],
                           descriptor_classes(raw))
        name = " ".join(x for x in (_udev_attr(a, "manufacturer"), _udev_attr(a, "product")) if x)
        out.append(UsbDevice(sys_name=d.sys_name, vendor_id=_udev_attr(a, "idVendor").lower(),
                             product_id=_udev_attr(a, "idProduct").lower(), serial=_udev_attr(a, "serial"),
                             name=name, classes=classes, authorized=_udev_attr(a, "authorized") != "0"))
    return sorted(out, key=lambda u: u.sys_name)
