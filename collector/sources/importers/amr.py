"""Playing time of AMR recordings (RFC 4867 storage format), counted frame by frame.

Call recorders store AMR with silence suppression: quiet stretches become 6-byte SID and
1-byte NO_DATA frames, so the playing time cannot be had from the file size and the bit rate
(ffprobe's container duration is such an estimate and halves a call with long pauses). Every
frame, whatever its size, is 20 ms.
"""
from __future__ import annotations

FRAME_S = 0.02
# Frame size in bytes (header byte included) by frame type, as in the 3GPP tables ffmpeg uses.
_NB_FRAME_BYTES = (13, 14, 16, 18, 20, 21, 27, 32, 6, 1, 1, 1, 1, 1, 1, 1)
_WB_FRAME_BYTES = (18, 24, 33, 37, 41, 47, 51, 59, 61, 6, 1, 1, 1, 1, 1, 1)
_HEADERS = ((b"#!AMR\n", _NB_FRAME_BYTES), (b"#!AMR-WB\n", _WB_FRAME_BYTES))


def amr_duration_s(path: str) -> float | None:
    """Seconds of a single-channel AMR-NB or AMR-WB file; None when it is not one (multi-channel
    files included) or cannot be read. A truncated last frame is not counted."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    for magic, frame_bytes in _HEADERS:
        if data.startswith(magic):
            return count_frames(data, len(magic), frame_bytes) * FRAME_S
    return None


def count_frames(data: bytes, pos: int, frame_bytes: tuple[int, ...]) -> int:
    frames, end = 0, len(data)
    while pos < end:
        pos += frame_bytes[(data[pos] >> 3) & 0x0F]
        if pos > end:
            break
        frames += 1
    return frames
