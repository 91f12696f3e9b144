"""AMR playing time counted frame by frame, checked against ffmpeg's own AMR demuxer and decoder."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from collector.sources.importers.amr import amr_duration_s
from tests.collector.sources.importers.amr_files import write_amr


def ffprobe_packets(path: Path) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_entries", "stream=nb_read_packets",
                          "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


@pytest.mark.parametrize("band,speech_s,pause_s", [
    pytest.param("nb", 5.0, 0.0, id="nb-speech"),
    pytest.param("nb", 5.0, 5.0, id="nb-with-a-pause"),
    pytest.param("wb", 3.0, 4.0, id="wb-with-a-pause"),
])
def test_duration_is_every_frame_ffmpeg_reads(tmp_path: Path, band: str, speech_s: float, pause_s: float) -> None:
    path = write_amr(tmp_path / "c.amr", speech_s, pause_s, band)
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], check=True)  # a valid stream
    assert amr_duration_s(str(path)) == pytest.approx(speech_s + pause_s)
    assert ffprobe_packets(path) * 0.02 == pytest.approx(speech_s + pause_s)


def test_a_pause_is_not_cut_from_the_playing_time(tmp_path: Path) -> None:
    # what ffprobe reports as the container's duration: an estimate from size and bit rate
    path = write_amr(tmp_path / "c.amr", 5.0, 5.0)
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True)
    seconds = amr_duration_s(str(path))
    assert seconds is not None and float(out.stdout) < 8.0 < seconds


@pytest.mark.parametrize("content,expected", [
    pytest.param(b"#!AMR\n" + bytes([0x3C]) + b"\x00" * 31 + bytes([0x3C]) + b"\x00" * 10, 0.02,
                 id="truncated-last-frame"),
    pytest.param(b"#!AMR_MC1.0\n\x00\x00\x00\x01", None, id="multi-channel"),
    pytest.param(b"RIFF\x00\x00\x00\x00WAVE", None, id="not-amr"),
    pytest.param(b"#!AMR\n", 0.0, id="no-frames"),
])
def test_other_content(tmp_path: Path, content: bytes, expected: float | None) -> None:
    (tmp_path / "x.amr").write_bytes(content)
    assert amr_duration_s(str(tmp_path / "x.amr")) == (pytest.approx(expected) if expected is not None else None)


def test_missing_file() -> None:
    assert amr_duration_s("/no/such/file.amr") is None
