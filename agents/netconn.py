"""TCP sockets from /proc/net/tcp{,6} with their owning processes, and active connect attempts."""
from __future__ import annotations

import errno
import ipaddress
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

STATES = {"01": "established", "02": "syn_sent", "03": "syn_recv", "0A": "listen"}


@dataclass(frozen=True)
class TcpSocket:
    local: str
    local_port: int
    remote: str
    remote_port: int
    state: str
    inode: int


def _addr(hexaddr: str) -> tuple[str, int]:
    host, port = hexaddr.split(":")
    raw = bytes.fromhex(host)
    # the kernel prints each 32-bit word in host (little-endian) order
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(words)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return str(ip), int(port, 16)


def read_tcp(proc: Path) -> list[TcpSocket]:
    out = []
    for name in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) < 10:
                continue
            (lip, lport), (rip, rport) = _addr(f[1]), _addr(f[2])
            out.append(TcpSocket(lip, lport, rip, rport, STATES.get(f[3].upper(), f[3]), int(f[9])))
    return out


def socket_owners(proc: Path) -> dict[int, tuple[int, str]]:
    """socket inode -> (pid, process name), from /proc/<pid>/fd links (needs root for other users)."""
    owners: dict[int, tuple[int, str]] = {}
    for fd_dir in proc.glob("[0-9]*/fd"):
        pid = int(fd_dir.parent.name)
        try:
            links = [os.readlink(fd_dir / fd) for fd in os.listdir(fd_dir)]
            comm = (fd_dir.parent / "comm").read_text().strip()
        except OSError:
            continue
        for link in links:
            if link.startswith("socket:["):
                owners[int(link[8:-1])] = (pid, comm)
    return owners


def connect_attempt(host: str, port: int, timeout_s: float) -> dict:
    """Try a TCP connection: connected, refused, timeout or error, with how long it took."""
    started = time.perf_counter()
    result, error = "error", None
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            result = "connected"
    except TimeoutError:
        result = "timeout"
    except ConnectionRefusedError:
        result = "refused"
    except OSError as e:
        result = "timeout" if e.errno in (errno.ETIMEDOUT, errno.EHOSTUNREACH) else "error"
        error = e.strerror or str(e)
    out = {"target": host, "port": port, "result": result,
           "elapsed_ms": round((time.perf_counter() - started) * 1000, 1), "timeout_s": timeout_s}
    if error:
        out["error"] = error
    return out
