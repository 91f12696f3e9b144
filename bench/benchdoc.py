"""Write a benchmark's section (## area) into docs/benchmarks.md, replacing the previous one."""
from __future__ import annotations

import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def write_section(area: str, body: str, doc: Path = DOC) -> None:
    head = (f"## {area}\n\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
            f"{os.cpu_count()} cores\n\n")
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^## {re.escape(area)}\n.*?(?=^## |\Z)", re.S | re.M)
    section = head + body.rstrip() + "\n\n"
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    doc.write_text(text, encoding="utf-8")
