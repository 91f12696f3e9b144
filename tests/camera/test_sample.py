"""The sampler against a fake capture and clock: frame rate, sampling, a stream that stops, bad sources."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from camera.sample import BadSource, Sampler, check_source


class FakeCapture:
    """A stream of `frames` frames, `period_s` apart on the fake clock; then grab() fails."""

    def __init__(self, clock: list[float], frames: int, period_s: float, opened: bool = True):
        self.clock, self.left, self.period_s, self.opened = clock, frames, period_s, opened
        self.retrieved = 0

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.opened

    def grab(self) -> bool:
        if self.left == 0:
            return False
        self.left -= 1
        self.clock[0] += self.period_s
        return True

    def retrieve(self) -> tuple[bool, np.ndarray]:
        self.retrieved += 1
        return True, np.zeros((90, 160, 3), np.uint8)

    def get(self, prop: int) -> float:
        return 0.0 if prop == cv2.CAP_PROP_POS_MSEC else 25.0

    def release(self) -> None:
        pass


def _run(frames: int, period_s: float, seconds: float, opened: bool = True) -> tuple[Sampler, int, FakeCapture]:
    clock = [0.0]
    cap = FakeCapture(clock, frames, period_s, opened)
    sampler = Sampler("rtsp://127.0.0.1/cam", seconds=seconds, sample_fps=5, opener=lambda s, t: cap,
                      clock=lambda: clock[0])
    return sampler, sum(1 for _ in sampler), cap


def test_live_stream_rate_and_sampling() -> None:
    sampler, samples, cap = _run(frames=1000, period_s=0.1, seconds=4)
    assert 9.5 < sampler.stats.fps < 10.5
    assert 18 <= samples <= 21 and cap.retrieved == samples  # only samples are decoded
    assert not sampler.stats.dropped


def test_stream_that_stops_is_dropped() -> None:
    sampler, _, _ = _run(frames=20, period_s=0.1, seconds=10)
    assert sampler.stats.dropped and sampler.stats.frames == 20


def test_stream_that_does_not_open() -> None:
    sampler, samples, _ = _run(frames=20, period_s=0.1, seconds=10, opened=False)
    assert samples == 0 and not sampler.stats.opened


@pytest.mark.parametrize("source", [pytest.param("ftp://cam/x", id="scheme"),
                                    pytest.param("/no/such/clip.mp4", id="missing-file")])
def test_bad_sources(source: str) -> None:
    with pytest.raises(BadSource):
        check_source(source)


def test_good_sources(tmp_path: Path) -> None:
    clip = tmp_path / "c.mp4"
    clip.write_bytes(b"")
    for s in (str(clip), f"file://{clip}", "rtsp://10.0.0.5/stream1", "http://10.0.0.5/video.mjpg"):
        check_source(s)
