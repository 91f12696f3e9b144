"""A real upsd with the dummy-ups driver on a loopback port, in a private config/state folder."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DRIVER = Path("/lib/nut/dummy-ups")
UPSD = Path("/lib/nut/upsd")
USER, PASSWORD = "monitor", "nut-test-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dev_text(values: dict[str, str]) -> str:
    return "".join(f"{k}: {v}\n" for k, v in values.items())


@dataclass
class NutServer:
    root: Path
    names: list[str]
    port: int = field(default_factory=free_port)
    maxage_s: int = 15
    drivers: dict[str, subprocess.Popen] = field(default_factory=dict)
    upsd: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "NUT_CONFPATH": str(self.root), "NUT_STATEPATH": str(self.root)}

    def set(self, name: str, **values: str) -> None:
        """Rewrite the UPS's .dev file; dummy-ups re-reads it when it changes."""
        path = self.root / f"{name}.dev"
        current = dict(line.split(": ", 1) for line in path.read_text().splitlines() if ": " in line)
        current.update({k.replace("_", "."): v for k, v in values.items()})
        tmp = path.with_suffix(".tmp")
        tmp.write_text(dev_text(current))
        tmp.replace(path)
        st = path.stat()  # make sure the mtime moves even within the same second
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))

    def start(self, initial: dict[str, str]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        conf = "".join(f"[{n}]\n  driver = dummy-ups\n  port = {n}.dev\n  desc = \"{n} test\"\n" for n in self.names)
        (self.root / "ups.conf").write_text(conf)
        (self.root / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {self.port}\nMAXAGE {self.maxage_s}\n")
        users = self.root / "upsd.users"
        users.write_text(f"[{USER}]\n  password = {PASSWORD}\n  upsmon secondary\n")
        users.chmod(0o600)
        for n in self.names:
            (self.root / f"{n}.dev").write_text(dev_text(initial))
            self.start_driver(n)
        self.upsd = subprocess.Popen([str(UPSD), "-F", "-u", "root"], env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.wait_ready(list(initial))

    def start_driver(self, name: str) -> None:
        self.drivers[name] = subprocess.Popen([str(DRIVER), "-a", name, "-u", "root", "-F"], env=self.env,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ask(self, line: str) -> str:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(line.encode() + b"\n")
            return s.recv(4096).decode()

    def wait_ready(self, variables: list[str], timeout_s: float = 20) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if all(self.ask(f"GET VAR {n} {v}").startswith("VAR") for n in self.names for v in variables):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("upsd with dummy-ups did not come up")

    def stop_driver(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.drivers[name]
        proc.send_signal(sig)
        if sig in (signal.SIGTERM, signal.SIGKILL):
            proc.wait(10)

    def stop(self) -> None:
        procs = [p for p in (self.upsd, *self.drivers.values()) if p is not None]
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
