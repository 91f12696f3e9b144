"""Build a sysfs tree from umockdev-record files, for tests that run in-process (no preload)."""
from __future__ import annotations

import os
from pathlib import Path


def build_sysfs(root: Path, *files: Path) -> Path:
    """Devices, attributes and bus/<subsystem>/devices links as umockdev would lay them out."""
    for file in files:
        for block in file.read_text().split("\n\n"):
            lines = [ln for ln in block.splitlines() if ln.strip()]
            dev_path = next((ln[3:] for ln in lines if ln.startswith("P: ")), None)
            if dev_path is None:
                continue
            d = root / dev_path.lstrip("/")
            d.mkdir(parents=True, exist_ok=True)
            subsystem = "usb"
            for ln in lines:
                if ln.startswith("A: "):
                    name, _, value = ln[3:].partition("=")
                    (d / name).write_text(value.replace("\\n", "\n") + "\n")
                elif ln.startswith("E: SUBSYSTEM="):
                    subsystem = ln.split("=", 1)[1]
            link = root / "bus" / subsystem / "devices" / d.name
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                link.symlink_to(os.path.relpath(d, link.parent))
    return root
