"""Antivirus state: ClamAV installed and running, signature age, updates, scheduled scans, EICAR proof."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from agents import clamav
from agents.env import Env
from agents.observation import AgentObservation

SCANNERS = ("clamscan", "clamdscan")
_END_DATE_RE = re.compile(r"^End Date:\s+(\d{4}:\d{2}:\d{2} \d{2}:\d{2}:\d{2})", re.M)


def running_processes(proc: Path) -> set[str]:
    names = set()
    for p in proc.glob("[0-9]*/comm"):
        try:
            names.add(p.read_text().strip())
        except OSError:
            continue
    return names


def _files_mentioning(paths: list[Path], words: tuple[str, ...]) -> list[str]:
    hits = []
    for p in paths:
        try:
            text = p.read_text(errors="replace")
        except OSError:
            continue
        if any(w in text for w in words):
            hits.append(str(p))
    return hits


def scheduled_scans(env: Env) -> list[str]:
    """Cron entries and systemd units that run a ClamAV scan."""
    candidates = [env.path("/etc/crontab")]
    for d in ("/etc/cron.d", "/etc/cron.daily", "/etc/cron.weekly", "/var/spool/cron/crontabs",
              "/etc/systemd/system", "/usr/lib/systemd/system"):
        base = env.path(d)
        if base.is_dir():
            candidates += sorted(p for p in base.iterdir()
                                 if p.is_file() and (not d.endswith("system") or p.suffix == ".service"))
    found = _files_mentioning(candidates, SCANNERS)
    # a service file only schedules when a timer of the same name exists
    return [f for f in found if not f.endswith(".service") or Path(f).with_suffix(".timer").exists()]


def update_service(env: Env, processes: set[str]) -> str | None:
    if "freshclam" in processes:
        return "freshclam daemon running"
    for wants in env.path("/etc/systemd/system").glob("*.wants/clamav-freshclam*.service"):
        return f"{wants.name} enabled"
    cron = _files_mentioning([env.path("/etc/crontab"), *sorted(env.path("/etc/cron.d").glob("*"))], ("freshclam",))
    return f"freshclam in {cron[0]}" if cron else None


def last_scan(log_file: Path | None) -> str | None:
    """The end of the last run recorded in a `clamscan --log` file (local time of the host)."""
    if log_file is None:
        return None
    try:
        found = _END_DATE_RE.findall(log_file.read_text(errors="replace"))
    except OSError:
        return None
    if not found:
        return None
    return datetime.strptime(found[-1], "%Y:%m:%d %H:%M:%S").astimezone().isoformat()


def timer_last_run(env: Env, schedule: list[str]) -> str | None:
    """When the newest scan timer last fired (`systemctl show --timestamp=unix`, systemd >= 251)."""
    times = []
    for unit in schedule:
        if not unit.endswith(".service"):
            continue
        timer = Path(unit).with_suffix(".timer").name
        res = env.run(["systemctl", "show", "--timestamp=unix", "--property=LastTriggerUSec", timer], 5.0)
        m = re.search(r"LastTriggerUSec=@(\d+)", res.stdout) if res.returncode == 0 else None
        if m and int(m.group(1)) > 0:
            times.append(int(m.group(1)))
    return datetime.fromtimestamp(max(times), UTC).isoformat() if times else None


def gather(env: Env) -> list[AgentObservation]:
    cfg = env.config.antivirus
    installed = any(env.which(p) for p in ("clamscan", "clamd", "clamdscan"))
    if not installed:
        return [env.observe("antivirus.status", {"product": None, "installed": False, "running": False,
                                                 "reason": "no antivirus found (clamscan, clamd)"})]
    processes = running_processes(env.proc)
    sock = cfg.clamd_socket or clamav.clamd_socket_from_conf(cfg.clamd_conf)
    pong = sock is not None and clamav.clamd_command(sock, b"PING", 2.0) == b"PONG"
    headers, problems = clamav.read_databases(cfg.database_dirs)
    newest = max((h.build_time for h in headers), default=None)
    payload: dict = {
        "product": "ClamAV", "installed": True, "running": pong or "clamd" in processes,
        "clamd_socket": str(sock) if sock else None, "clamd_answers": pong,
        "signature_time": newest.isoformat() if newest else None,
        "databases": [{"name": h.name, "build_time": h.build_time.isoformat(), "version": h.version,
                       "signatures": h.signatures} for h in headers],
        "database_problems": problems, "update_service": update_service(env, processes),
        "scheduled_scan": bool(scheduled := scheduled_scans(env)), "scan_schedule": scheduled,
        "last_scan": last_scan(cfg.scan_log) or timer_last_run(env, scheduled),
    }
    if not headers:
        payload["reason"] = "no signature database found in " + ", ".join(str(d) for d in cfg.database_dirs)
    if cfg.eicar_test:
        payload["eicar"] = eicar(env, sock if pong else None)
    return [env.observe("antivirus.status", payload)]


def eicar(env: Env, sock: Path | None) -> dict:
    """The EICAR proof: every round through clamd (cheap); through clamscan at most every
    `eicar_clamscan_every_s`, repeating the last result (with its time) in between."""
    cfg = env.config.antivirus
    memory = env.state_dir / "eicar-last.json" if env.state_dir is not None else None
    now = env.clock()
    if sock is None and memory is not None:
        try:
            last = json.loads(memory.read_text())
            if (now - datetime.fromisoformat(last["at"])).total_seconds() < cfg.eicar_clamscan_every_s:
                return last
        except (OSError, ValueError, KeyError):
            pass
    result = {**clamav.eicar_test(env.run, sock, cfg.database_dirs, cfg.eicar_timeout_s), "at": now.isoformat()}
    if memory is not None and sock is None:
        try:
            memory.parent.mkdir(parents=True, exist_ok=True)
            memory.write_text(json.dumps(result))
        except OSError:
            pass
    return result
