"""Reading the USBGuard daemon's state (`usbguard list-devices`, captured from the real daemon)."""
from __future__ import annotations

from pathlib import Path

import pytest

from agents.enforce.usbguard import parse_devices

CAPTURE = Path(__file__).resolve().parents[2] / "fixtures" / "agent" / "usb" / "usbguard-list-devices.txt"


def test_list_devices_capture_without_the_root_hub() -> None:
    devices = parse_devices(CAPTURE.read_text())
    assert [(d.sys_name, d.vendor_id, d.product_id, d.classes, d.authorized, target) for d, target in devices] == [
        ("1-1", "046d", "c31c", ["03"], True, "allow"),
        ("1-2", "0781", "5567", ["08"], False, "block"),
        ("1-3", "0951", "1666", ["08"], True, "allow")]
    assert devices[2][0].serial == "E0D55EA573DCF450E97C0A8C" and devices[1][0].name == "Cruzer Blade"


@pytest.mark.parametrize("line, want", [
    pytest.param('9: reject id 04e8:6860 serial "R58M" name "Galaxy \\"S10\\"" via-port "2-1.4" '
                 'with-interface { 06:01:01 ff:ff:00 }', ("2-1.4", ["06", "ff"], False, "reject", 'Galaxy "S10"'),
                 id="rejected phone, escaped name"),
    pytest.param("no devices", None, id="not a device line"),
])
def test_list_devices_line(line: str, want: tuple | None) -> None:
    devices = parse_devices(line)
    if want is None:
        assert devices == []
        return
    [(d, target)] = devices
    assert (d.sys_name, d.classes, d.authorized, target, d.name) == want
