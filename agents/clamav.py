"""ClamAV facts: database headers, the clamd socket, and the EICAR test.

A `.cvd`/`.cld`/`.cud` database starts with a 512-byte header
`ClamAV-VDB:<build time>:<version>:<signatures>:<level>:<md5>:<dsig>:<builder>:<unix build time>`.
"""
from __future__ import annotations

import os
import socket
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from agents.env import Runner

HEADER_BYTES = 512
DB_SUFFIXES = (".cvd", ".cld", ".cud")
# the EICAR test file, split so the source file itself never trips a scanner
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class HeaderError(ValueError):
    pass


@dataclass(frozen=True)
class DbHeader:
    name: str
    build_time: datetime
    version: int
    signatures: int
    functionality_level: int
    builder: str


def parse_header(raw: bytes, name: str = "") -> DbHeader:
    """Parse the 512-byte header; the unix time field wins over the human-readable one."""
    text = raw[:HEADER_BYTES].decode("ascii", errors="replace").rstrip(" \x00\n")
    fields = text.split(":")
    if len(fields) < 8 or fields[0] != "ClamAV-VDB":
        raise HeaderError(f"{name or 'database'}: no ClamAV-VDB header")
    try:
        if len(fields) >= 9 and fields[8].strip().isdigit():
            built = datetime.fromtimestamp(int(fields[8].strip()), UTC)
        else:
            built = datetime.strptime(fields[1], "%d %b %Y %H-%M %z")
        return DbHeader(name, built, int(fields[2]), int(fields[3]), int(fields[4]), fields[7])
    except ValueError as e:
        raise HeaderError(f"{name or 'database'}: bad header field: {e}") from None


def read_databases(dirs: list[Path]) -> tuple[list[DbHeader], list[str]]:
    """Headers of every container database in `dirs`, and the problems met on the way."""
    headers, problems = [], []
    for d in dirs:
        try:
            files = sorted(p for p in d.iterdir() if p.suffix in DB_SUFFIXES)
        except OSError as e:
            problems.append(f"{d}: {e.strerror}")
            continue
        for f in files:
            try:
                with open(f, "rb") as fh:
                    headers.append(parse_header(fh.read(HEADER_BYTES), f.name))
            except (OSError, HeaderError) as e:
                problems.append(str(e))
    return headers, problems


def clamd_socket_from_conf(conf: Path) -> Path | None:
    try:
        for line in conf.read_text().splitlines():
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[0] == "LocalSocket":
                return Path(parts[1].strip())
    except OSError:
        return None
    return None


def clamd_command(sock_path: Path, command: bytes, timeout_s: float = 3.0) -> bytes | None:
    """Send one `z`-command to clamd's unix socket; None when nobody answers."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout_s)
            s.connect(str(sock_path))
            s.sendall(b"z" + command + b"\0")
            chunks = []
            while chunk := s.recv(4096):
                chunks.append(chunk)
            return b"".join(chunks).rstrip(b"\0\n")
    except OSError:
        return None


def clamd_scan_fd(sock_path: Path, path: Path, timeout_s: float) -> tuple[bool, str]:
    """Pass the open file to clamd (FILDES), so clamd need not be able to read our directory."""
    fd = os.open(path, os.O_RDONLY)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout_s)
            s.connect(str(sock_path))
            s.sendall(b"zFILDES\0")
            socket.send_fds(s, [b"\0"], [fd])
            chunks = []
            while chunk := s.recv(4096):
                chunks.append(chunk)
    except OSError as e:
        return False, f"clamd at {sock_path}: {e.strerror or e}"
    finally:
        os.close(fd)
    text = b"".join(chunks).rstrip(b"\0\n").decode(errors="replace")
    return text.endswith("FOUND"), text


def eicar_test(run: Runner, sock_path: Path | None, db_dirs: list[Path], timeout_s: float,
               workdir: Path | None = None) -> dict:
    """Write the EICAR file and ask clamd (or clamscan) about it; detected, how fast, by what."""
    fd, name = tempfile.mkstemp(prefix="clausewatch-eicar-", suffix=".com", dir=workdir)
    path = Path(name)
    try:
        os.write(fd, EICAR)
        os.close(fd)
        os.chmod(path, 0o644)  # clamd runs as its own user
        started = time.perf_counter()
        if sock_path is not None and clamd_command(sock_path, b"PING", 2.0) == b"PONG":
            detected, detail = clamd_scan_fd(sock_path, path, timeout_s)
            engine = "clamd"
        else:
            argv = ["clamscan", "--no-summary", *[f"--database={d}" for d in db_dirs], str(path)]
            res = run(argv, timeout_s)
            detected = res.returncode == 1 and "FOUND" in res.stdout
            detail = (res.stdout.strip() or res.stderr.strip())[-300:]
            engine = "clamscan"
        latency_ms = round((time.perf_counter() - started) * 1000, 1)
        return {"detected": detected, "latency_ms": latency_ms, "engine": engine,
                "detail": detail.replace(str(path), "<probe file>")}
    finally:
        path.unlink(missing_ok=True)
