"""A real `clausewatch canary` process on a loopback port, for tests."""
from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass

from tests.integration.conftest import BIN


@dataclass
class CanaryProcess:
    proc: subprocess.Popen
    port: int

    def stop(self) -> tuple[str, str]:
        self.proc.terminate()
        out, err = self.proc.communicate(timeout=15)
        return out, err


def start_canary(*extra: str, listen: str = "127.0.0.1:0") -> CanaryProcess:
    proc = subprocess.Popen([str(BIN), "canary", "--listen", listen, "--json", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        m = re.search(r"listening on [\d.]+:(\d+)", line)
        if m:
            return CanaryProcess(proc, int(m.group(1)))
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("canary did not start: " + (proc.stderr.read() if proc.stderr else ""))
