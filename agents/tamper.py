"""Self-protection: what changed since the agent last ran (config, program) and how it last stopped."""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import agents


def file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def program_sha256() -> str:
    """One hash over the entry script and the agent's own modules: a changed agent changes it."""
    h = hashlib.sha256()
    package = Path(agents.__file__).parent
    for p in [Path(sys.argv[0]), *sorted(package.rglob("*.py"))]:
        h.update(str(p.name).encode())
        h.update(file_sha256(p).encode() if p.is_file() else b"-")  # type: ignore[union-attr]
    return h.hexdigest()


def fingerprint(config_path: Path | None) -> dict[str, str | None]:
    return {"config_sha256": file_sha256(config_path) if config_path else None, "program_sha256": program_sha256()}


def boot_time(proc: Path) -> float | None:
    try:
        for line in (proc / "stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        return None
    return None


def check_start(state_file: Path, now_fp: dict[str, str | None], now_s: float, max_gap_s: float,
                booted_s: float | None) -> list[str]:
    """Compare with the last run and mark this one running; the list says what looks tampered.

    A clean stop followed by a long silence without a reboot in between is a stopped service."""
    tamper: list[str] = []
    try:
        last = json.loads(state_file.read_text())
    except (OSError, ValueError):
        last = None
    if last is not None:
        if last.get("config_sha256") != now_fp["config_sha256"]:
            tamper.append("config file changed since the last start")
        if last.get("program_sha256") != now_fp["program_sha256"]:
            tamper.append("agent program changed since the last start")
        if last.get("running"):
            tamper.append("agent was stopped without a clean shutdown (killed or crashed)")
        stopped = last.get("stopped_s")
        rebooted = booted_s is not None and stopped is not None and booted_s > stopped
        if stopped is not None and not rebooted and now_s - stopped > max_gap_s:
            tamper.append(f"agent service was stopped for {(now_s - stopped) / 60:.0f} min without a reboot")
    _write(state_file, {**now_fp, "running": True, "started_s": now_s})
    return tamper


def mark_stopped(state_file: Path, now_fp: dict[str, str | None], now_s: float) -> None:
    _write(state_file, {**now_fp, "running": False, "stopped_s": now_s})


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)
