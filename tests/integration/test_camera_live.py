"""Live streams on 127.0.0.1 read by the probe: HTTP MJPEG from ffmpeg, RTSP from a GStreamer RTSP server.

Killing the sender must turn the camera `offline` within 10 s.
"""
from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from camera.probe import ProbeOptions, probe
from tests.integration.conftest import free_port

pytestmark = pytest.mark.integration
RTSP_SERVER = Path(__file__).resolve().parents[1] / "fixtures" / "camera" / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"


def _gst_rtsp_available() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    check = "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"
    return subprocess.run([SYSTEM_PYTHON, "-c", check], capture_output=True).returncode == 0


def _listening(port: int, proc_net: str = "/proc/net/tcp") -> bool:
    """Whether something listens on 127.0.0.1:port, without connecting (ffmpeg -listen 1 serves one client)."""
    for line in Path(proc_net).read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == "0A" and int(local.split(":")[1], 16) == port:
            return True
    return False


def _mjpeg_sender(source: list[str]) -> tuple[str, subprocess.Popen[bytes]]:
    """ffmpeg serving one MJPEG client from `source` (ffmpeg input arguments)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed (deploy/apt/camera.txt)")
    port = free_port()
    url = f"http://127.0.0.1:{port}/cam.mjpg"
    proc = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", *source, "-q:v", "5",
                             "-f", "mpjpeg", "-listen", "1", url], stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not _listening(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    return url, proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.wait(10)


@pytest.fixture
def mjpeg() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A fresh sender for each probe, as `-listen 1` serves a single client."""
    url, proc = _mjpeg_sender(["-f", "lavfi", "-i", "testsrc2=s=320x180:r=15"])
    yield url, proc
    _stop(proc)


def _rtsp_server(*args: str) -> tuple[str, subprocess.Popen[bytes]]:
    """The GStreamer RTSP server (PATTERN FPS [SPEED]); its URL."""
    if not _gst_rtsp_available():
        pytest.skip("GStreamer RTSP server for /usr/bin/python3 not installed (deploy/apt/camera.txt)")
    proc = subprocess.Popen([SYSTEM_PYTHON, str(RTSP_SERVER), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    port = int(proc.stdout.readline().decode().strip())
    return f"rtsp://127.0.0.1:{port}/cam", proc


@pytest.fixture
def rtsp() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    url, proc = _rtsp_server("smpte", "15")
    yield url, proc
    _stop(proc)


@pytest.mark.parametrize("stream", ["mjpeg", "rtsp"])
def test_live_stream_is_healthy(stream: str, request: pytest.FixtureRequest) -> None:
    url, _ = request.getfixturevalue(stream)
    healthy = probe(url, ProbeOptions(seconds=4, nominal_fps=15))
    assert healthy["online"] is True, healthy
    assert healthy["faults"] == [], healthy
    assert healthy["fps"] > 8 and healthy["frames"] > 30


@pytest.mark.parametrize("stream", ["mjpeg", "rtsp"])
def test_killing_the_sender_gives_offline_within_10_s(stream: str, request: pytest.FixtureRequest) -> None:
    url, proc = request.getfixturevalue(stream)
    box: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: box.update(probe(url, ProbeOptions(seconds=60, nominal_fps=15))))
    worker.start()
    time.sleep(2)
    proc.kill()
    killed_at = time.monotonic()
    worker.join(30)
    assert not worker.is_alive()
    assert time.monotonic() - killed_at < 10
    assert box["online"] is False and "offline" in box["faults"]
    after = probe(url, ProbeOptions(seconds=2, timeout_ms=3000))
    assert after["faults"] == ["offline"]


@pytest.fixture
def still_png(tmp_path: Path) -> Path:
    png = tmp_path / "still.png"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=s=320x180", "-frames:v", "1", str(png)], check=True)
    return png


@pytest.mark.parametrize("stream", ["mjpeg", "rtsp"])
def test_live_stream_still_from_its_first_frame_is_frozen_without_a_baseline(stream: str, still_png: Path) -> None:
    """A sensor always adds noise: a live picture that is bit-identical for the window is a frozen camera."""
    if stream == "mjpeg":
        url, proc = _mjpeg_sender(["-loop", "1", "-framerate", "15", "-i", str(still_png)])
    else:
        url, proc = _rtsp_server("smpte75", "15", "0")  # a test pattern that does not scroll
    try:
        result = probe(url, ProbeOptions(seconds=5, nominal_fps=15))
    finally:
        _stop(proc)
    assert result["online"] is True and result["faults"] == ["frozen"], result
    assert result["metrics"]["frozen_diff_limit"] == 0.0
