"""Real ClamAV parts for tests: an EICAR signature database built by sigtool, a clamd on a temp socket."""
from __future__ import annotations

import hashlib
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from agents.clamav import EICAR, HEADER_BYTES, clamd_command


def build_cud(workdir: Path) -> Path:
    """An unsigned `daily.cud` holding one .hdb line for EICAR's MD5, built by ClamAV's sigtool."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "daily.hdb").write_text(f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:Clausewatch-Test-EICAR\n")
    (workdir / "COPYING").write_text("test database\n")
    subprocess.run(["sigtool", "--build=daily.cud", "--unsigned", f"--datadir={workdir}"], cwd=workdir,
                   input="27001\ntester\n", capture_output=True, text=True, timeout=60, check=True)
    (workdir / "daily.hdb").unlink()
    (workdir / "daily.info").unlink(missing_ok=True)
    (workdir / "COPYING").unlink()
    return workdir / "daily.cud"


def restamp(cud: Path, target: Path, built: datetime) -> Path:
    """A copy of `cud` whose header says it was built at `built` (only the header changes)."""
    raw = cud.read_bytes()
    fields = raw[:HEADER_BYTES].decode().rstrip(" \x00").split(":")
    fields[1] = built.astimezone(UTC).strftime("%d %b %Y %H-%M +0000")
    fields[8] = str(int(built.timestamp()))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(":".join(fields).encode().ljust(HEADER_BYTES, b" ") + raw[HEADER_BYTES:])
    return target


@dataclass
class Clamd:
    socket: Path
    conf: Path
    proc: subprocess.Popen

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def start_clamd(workdir: Path, db_dir: Path) -> Clamd:
    sock = workdir / "clamd.sock"
    conf = workdir / "clamd.conf"
    conf.write_text(f"LocalSocket {sock}\nDatabaseDirectory {db_dir}\nForeground yes\n"
                    f"LogFile {workdir / 'clamd.log'}\nPidFile {workdir / 'clamd.pid'}\n")
    proc = subprocess.Popen(["clamd", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if sock.exists() and clamd_command(sock, b"PING", 1.0) == b"PONG":
            return Clamd(sock, conf, proc)
        if proc.poll() is not None:
            raise RuntimeError("clamd exited: " + (workdir / "clamd.log").read_text()[-500:])
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("clamd did not answer PING")
