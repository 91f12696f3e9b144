"""Open a camera source (file, HTTP MJPEG, RTSP) with OpenCV and sample a few frames per second.

Every frame is grabbed (so the measured frame rate is real) but only the sampled ones are
retrieved and converted, which is where most of the per-frame cost would go.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import cv2
import numpy as np

# OpenCV's own warnings ("can't be used to capture by name") would be a second, unstructured line
# beside the one that names the bad source; errors still show
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

LIVE_SECONDS_DEFAULT = 10.0
FILE_SECONDS_MAX = 3600.0  # a file is read to its end unless told otherwise, up to an hour of media
LIVE_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")


class Capture(Protocol):
    def isOpened(self) -> bool: ...
    def grab(self) -> bool: ...
    def retrieve(self) -> tuple[bool, Any]: ...
    def get(self, prop: int) -> float: ...
    def release(self) -> None: ...


Opener = Callable[[str, int], Capture]


class BadSource(ValueError):
    """The source is not something we can try to open (no such file, unknown scheme)."""


def is_live(source: str) -> bool:
    return urlparse(source).scheme.lower() in LIVE_SCHEMES


def check_source(source: str) -> None:
    """Raise BadSource for input that is wrong rather than a camera that is down."""
    scheme = urlparse(source).scheme.lower()
    if scheme in LIVE_SCHEMES:
        return
    if scheme and len(scheme) > 1 and scheme != "file":
        raise BadSource(f"{source}: unsupported source scheme {scheme!r} (file, http, rtsp)")
    path = Path(source[len("file://"):] if scheme == "file" else source)
    if not path.is_file():
        raise BadSource(f"{source}: no such file")


def open_capture(source: str, timeout_ms: int) -> Capture:
    """OpenCV's FFmpeg backend with open and read timeouts, so a dead stream fails fast."""
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
    if source.startswith("file://"):
        source = source[len("file://"):]
    return cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)


@dataclass
class Sample:
    t_s: float  # seconds since the first frame (media time for files, wall time for streams)
    frame: np.ndarray


@dataclass
class SampleStats:
    opened: bool = False
    frames: int = 0  # frames grabbed
    first_s: float | None = None
    last_s: float | None = None
    dropped: bool = False  # a live stream stopped delivering frames before the end

    @property
    def span_s(self) -> float:
        if self.first_s is None or self.last_s is None:
            return 0.0
        return self.last_s - self.first_s

    @property
    def fps(self) -> float:
        return (self.frames - 1) / self.span_s if self.frames > 1 and self.span_s > 0 else 0.0


class Sampler:
    """Iterate over sampled frames of one source; `stats` fills in as frames arrive."""

    def __init__(self, source: str, seconds: float | None = None, sample_fps: float = 5.0, timeout_ms: int = 5000,
                 opener: Opener = open_capture, clock: Callable[[], float] = time.monotonic):
        """`seconds`: how long to sample; None = a live stream for 10 s, a file to its end."""
        self.live = is_live(source)
        if seconds is None:
            seconds = LIVE_SECONDS_DEFAULT if self.live else FILE_SECONDS_MAX
        self.source, self.seconds, self.sample_fps = source, seconds, sample_fps
        self.timeout_ms, self.opener, self.clock = timeout_ms, opener, clock
        self.stats = SampleStats()

    def _media_time(self, cap: Capture, index: int, start_wall: float) -> float:
        if self.live:
            return self.clock() - start_wall
        pos_ms = cap.get(cv2.CAP_PROP_POS_MSEC)
        if pos_ms > 0 or index == 0:
            return pos_ms / 1000.0
        fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        return index / fps

    def __iter__(self) -> Iterator[Sample]:
        cap = self.opener(self.source, self.timeout_ms)
        try:
            if not cap.isOpened():
                return
            self.stats.opened = True
            yield from self._frames(cap)
        finally:
            cap.release()

    def _frames(self, cap: Capture) -> Iterator[Sample]:
        start_wall = self.clock()
        period = 1.0 / self.sample_fps
        next_sample = 0.0
        index = 0
        while True:
            if self.live and self.clock() - start_wall > self.seconds:
                return
            if not cap.grab():
                self.stats.dropped = self.live
                return
            t = self._media_time(cap, index, start_wall)
            index += 1
            if self.stats.first_s is None:
                self.stats.first_s = t
            rel = t - self.stats.first_s
            if not self.live and rel > self.seconds:
                return
            self.stats.frames += 1
            self.stats.last_s = t
            if rel + 1e-6 >= next_sample:
                ok, frame = cap.retrieve()
                if ok and frame is not None:
                    next_sample = rel + period * 0.95
                    yield Sample(rel, frame)
