"""AMR files in the RFC 4867 storage format, written frame by frame as a recorder with silence
suppression writes them: speech frames, a SID frame every 8th frame of a pause, NO_DATA between."""
from __future__ import annotations

import random
from pathlib import Path

NB_SPEECH_12K2 = (7, 32)  # frame type, bytes with the header byte
WB_SPEECH_23K85 = (8, 61)
SID = {"nb": (8, 6), "wb": (9, 6)}
NO_DATA = (15, 1)
MAGIC = {"nb": b"#!AMR\n", "wb": b"#!AMR-WB\n"}


def frame(frame_type: int, size: int, rng: random.Random) -> bytes:
    return bytes([frame_type << 3 | 0x04]) + bytes(rng.randrange(256) for _ in range(size - 1))  # Q bit set


def write_amr(path: Path, speech_s: float, pause_s: float = 0.0, band: str = "nb", seed: int = 1) -> Path:
    """speech_s seconds of speech frames, then pause_s seconds of silence suppression."""
    rng = random.Random(seed)
    speech = NB_SPEECH_12K2 if band == "nb" else WB_SPEECH_23K85
    frames = [frame(*speech, rng) for _ in range(round(speech_s / 0.02))]
    frames += [frame(*(SID[band] if i % 8 == 0 else NO_DATA), rng) for i in range(round(pause_s / 0.02))]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(MAGIC[band] + b"".join(frames))
    return path
