"""A real Debian snmpd on a loopback UDP port whose `pass` script serves values from a file."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

SNMPD = shutil.which("snmpd") or "/usr/sbin/snmpd"
COMMUNITY = "cw-test"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SnmpAgent:
    def __init__(self, root: Path, subtrees: list[str]):
        self.root, self.subtrees = root, subtrees
        self.port = free_udp_port()
        self.values = root / "values"
        self.proc: subprocess.Popen | None = None

    def set(self, oid: str, value: int, type_: str = "integer") -> None:
        """Serve `value` at `oid` from now on (the pass script reads the file on every request)."""
        oid = "." + oid.lstrip(".")
        rows = [r for r in self.values.read_text().splitlines() if r and not r.startswith(oid + " ")]
        rows.append(f"{oid} {type_} {value}")
        tmp = self.values.with_suffix(".tmp")
        tmp.write_text("\n".join(rows) + "\n")
        tmp.replace(self.values)

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.values.write_text("")
        script = self.root / "pass.sh"
        script.write_text("#!/bin/sh\n[ \"$1\" = \"-g\" ] || exit 0\n"
                          f"line=$(grep \"^$2 \" {self.values}) || exit 0\n"
                          "set -- $line\nprintf '%s\\n%s\\n%s\\n' \"$1\" \"$2\" \"$3\"\n")
        script.chmod(0o755)
        conf = self.root / "snmpd.conf"
        conf.write_text(f"rocommunity {COMMUNITY} 127.0.0.1\n"
                        + "".join(f"pass .{s.lstrip('.')} {script}\n" for s in self.subtrees))
        env = {**os.environ, "SNMP_PERSISTENT_DIR": str(self.root), "MIBS": ""}
        self.started_at = datetime.now(UTC)  # sysUpTime counts from about here
        self.proc = subprocess.Popen([SNMPD, "-f", "-Lo", "-C", "-c", str(conf), "-p", str(self.root / "pid"),
                                      f"udp:127.0.0.1:{self.port}"], env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("snmpd exited")
            if (self.root / "pid").exists():
                time.sleep(0.3)
                return
            time.sleep(0.1)

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(10)
