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
