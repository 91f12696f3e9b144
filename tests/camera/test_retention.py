"""Retention audit over recording stores with real segment names."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from camera.layouts import parse_layout
from camera.retention import RetentionOptions, scan_store

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
BIN = Path(sys.executable).parent / "clausewatch"


def frigate_tree(root: Path, camera: str, days: float, skip: tuple[datetime, datetime] | None = None) -> None:
    t = NOW - timedelta(days=days)
    while t < NOW:
        if not (skip and skip[0] <= t < skip[1]):
            p = root / t.strftime("%Y-%m-%d/%H") / camera / t.strftime("%M.%S.mp4")
            p.parent.mkdir(parents=True, exist_ok=True)
            p.touch()
        t += timedelta(minutes=10)


@pytest.mark.parametrize(("days", "skip", "ok", "gaps"), [
    pytest.param(93, None, True, 0, id="continuous-93-days"),
    pytest.param(41, None, False, 0, id="oldest-deleted-at-41-days"),
    pytest.param(93, (NOW - timedelta(days=20), NOW - timedelta(days=19)), False, 1, id="one-day-gap"),
])
def test_frigate_store(tmp_path: Path, days: float, skip: tuple[datetime, datetime] | None, ok: bool,
                       gaps: int) -> None:
    frigate_tree(tmp_path, "front", days, skip)
    r = scan_store(tmp_path, parse_layout("frigate", UTC), RetentionOptions(sample=0), NOW)
    cam = r["cameras"][0]
    assert cam["camera"] == "front" and cam["ok"] is ok and r["ok"] is ok
    assert len(cam["gaps"]) == gaps
    assert abs(cam["days"] - days) < 0.01


def test_unreadable_sampled_segment_is_a_fault(tmp_path: Path) -> None:
    frigate_tree(tmp_path, "front", 93)  # empty files cannot be decoded
    r = scan_store(tmp_path, parse_layout("frigate", UTC), RetentionOptions(sample=2), NOW)
    assert len(r["cameras"][0]["unreadable"]) == 2 and not r["ok"]


def test_cli_contract(tmp_path: Path) -> None:
    frigate_tree(tmp_path, "front", 93)
    p = subprocess.run([str(BIN), "camera", "retention", str(tmp_path), "--layout", "frigate", "--sample", "0",
                        "--now", NOW.isoformat(), "--json"], capture_output=True, text=True, timeout=60,
                       env={**os.environ})
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    cam = data["cameras"][0]
    assert {"camera", "oldest", "newest", "days", "gaps", "unreadable", "ok"} <= set(cam)
    datetime.fromisoformat(cam["oldest"])
    bad = subprocess.run([str(BIN), "camera", "retention", str(tmp_path), "--layout", "{camera}.mp4", "--json"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--layout" in bad.stderr
