"""A small labelled clip set, made once per session by the committed generator (bench/make_clips.py)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clips")
    subprocess.run([sys.executable, str(ROOT / "bench" / "make_clips.py"), str(out), "--seconds", "5",
                    "--size", "320x180", "--scenes", "testsrc2,quiet"], check=True, timeout=120)
    assert json.loads((out / "labels.json").read_text())
    return out


# frozen recordings across codecs, sizes and frame rates (scene:WxH:codec:fps), small enough for the suite
FREEZE_VARIANTS = ["quiet:320x180:h265:15", "quiet:320x180:mjpeg:10", "bars:320x180:mpeg4:12",
                   "testsrc2:480x272:h264:25", "mandelbrot:320x180:h264:20"]


@pytest.fixture(scope="session")
def frozen_clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Healthy, frozen-from-the-start and frozen-midway clips of each FREEZE_VARIANTS entry."""
    out = tmp_path_factory.mktemp("frozen")
    subprocess.run([sys.executable, str(ROOT / "bench" / "make_clips.py"), str(out), "--only", "freezes",
                    "--variants", ",".join(FREEZE_VARIANTS)], check=True, timeout=300)
    return out
