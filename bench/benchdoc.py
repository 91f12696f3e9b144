"""Write one section of docs/benchmarks.md (headed `## <name>`), leaving the other sections as they are."""
from __future__ import annotations

import os
import platform
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = ("# Benchmarks\n\nEach section is written by its script in `bench/` (`make bench`). Numbers are ratios"
          " against a\nbaseline run in the same script where the machine's noise would otherwise dominate.\n")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def machine() -> str:
    """Date and machine, for a section's first line."""
    return f"{datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {os.cpu_count()} cores, {cpu_model()}"


def load_note() -> str:
    """The machine's load as measured, for a section's text: on a shared machine it explains the seconds."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores when measured"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def update_section(title: str, body: str, doc: Path = DOC) -> None:
    """Replace (or append) the section `## title` with `body` as given."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else HEADER
    section = f"## {title}\n{body.rstrip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text.rstrip() + "\n", encoding="utf-8")


def write_section(name: str, body: str) -> None:
    """Like update_section, with the date and machine stamped under the heading."""
    stamp = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores, {cpu_model()}"
    update_section(name, f"\n_{stamp}_\n\n{body.strip()}\n")
