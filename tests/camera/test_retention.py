"""Retention audit over recording stores with real segment names."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

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
        t += timedelta(hours=1)  # hour-long segments: few files, same logic


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


def test_recorder_stopped_lately_keeps_depth_and_reports_its_lag(tmp_path: Path) -> None:
    frigate_tree(tmp_path, "front", 93)  # hour-long segments: the last one ends at NOW
    later = NOW + timedelta(minutes=40)
    cam = scan_store(tmp_path, parse_layout("frigate", UTC), RetentionOptions(sample=0), later)["cameras"][0]
    assert cam["continuous_days"] > 92.9  # footage still reaches back 93 days
    assert cam["recording_lag_s"] == 40 * 60  # but nothing was written for 40 minutes
    assert len(cam["gaps"]) == 1 and cam["ok"] is False


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


def _clip(path: Path, seconds: int = 2) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=s=160x90:r=10", "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", str(path)],
                   check=True)


@pytest.mark.parametrize(("events", "ok"), [pytest.param([1, 2, 3], True, id="back-to-back"),
                                            pytest.param([1, 3], False, id="missing-event")])
def test_zoneminder_medium_start_is_mtime_less_duration(tmp_path: Path, events: list[int], ok: bool) -> None:
    src = tmp_path / "src.mp4"
    _clip(src)
    end = NOW.timestamp()
    for n in events:
        d = tmp_path / "store" / "7" / "2026-11-29" / str(100 + n)
        d.mkdir(parents=True)
        f = d / f"{100 + n}-video.mp4"
        f.write_bytes(src.read_bytes())
        t = end - 2 * (3 - n)
        os.utime(f, (t, t))
    opt = RetentionOptions(days=5 / 86400, gap_s=1, sample=3)
    r = scan_store(tmp_path / "store", parse_layout("zoneminder-medium", UTC), opt, NOW)
    cam = r["cameras"][0]
    assert cam["camera"] == "7" and cam["unreadable"] == []
    assert cam["ok"] is ok and len(cam["gaps"]) == (0 if ok else 1)
    if ok:
        assert datetime.fromisoformat(cam["oldest"]) == NOW - timedelta(seconds=6)


def test_forecast_capacity_when_recorder_deletes_oldest(tmp_path: Path) -> None:
    from collections import namedtuple

    from camera.retention import forecast

    usage = namedtuple("usage", "total used free")
    cams = [{"bytes": 40 * 10**9, "days": 40.0}]  # 1 GB a day
    fc = forecast(tmp_path, cams, RetentionOptions(days=92), NOW, disk_usage=lambda _: usage(0, 0, 20 * 10**9))
    assert fc["capacity_days"] == 60.0 and fc["ok"] is False
    assert datetime.fromisoformat(fc["full_at"]) == NOW + timedelta(days=20)


def test_pattern_with_start_and_end_across_midnight(tmp_path: Path) -> None:
    """Site-local names with their own end times; the segment that ends after midnight belongs to its start day."""
    sh = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 11, 29, 9, 0, tzinfo=sh)
    t = now - timedelta(days=3)
    while t < now:
        end = t + timedelta(hours=2)
        p = tmp_path / "lobby" / t.strftime("%Y%m%d") / f"{t:%H%M%S}-{end:%H%M%S}.mp4"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.touch()
        t = end
    lay = parse_layout("{camera}/{start:%Y%m%d}/{start:%H%M%S}-{end:%H%M%S}.mp4", sh)
    r = scan_store(tmp_path, lay, RetentionOptions(days=2.5, sample=0), now)
    cam = r["cameras"][0]
    assert cam["camera"] == "lobby" and cam["gaps"] == [] and cam["ok"] is True
    assert datetime.fromisoformat(cam["newest"]) == now


def test_zoneminder_deep_tree(tmp_path: Path) -> None:
    sh = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 11, 29, 9, 0, tzinfo=sh)
    for k in range(12):  # one 10-minute event each 10 minutes, then the recorder stopped an hour ago
        t = now - timedelta(minutes=180 - 10 * k)
        d = tmp_path / "3" / t.strftime("%y/%m/%d/%H/%M/%S")
        d.mkdir(parents=True)
        (d / f"{1000 + k}-video.mp4").touch()
        (d / "00001-capture.jpg").touch()
    r = scan_store(tmp_path, parse_layout("zoneminder-deep", sh), RetentionOptions(days=0.1, sample=0), now)
    cam = r["cameras"][0]
    assert cam["camera"] == "3" and cam["segments"] == 12
    assert len(cam["gaps"]) == 1 and datetime.fromisoformat(cam["gaps"][0]["start"]) == now - timedelta(hours=1)


def test_corrupt_segment_is_named_by_its_path(tmp_path: Path) -> None:
    src = tmp_path / "ok.mp4"
    _clip(src, 1)
    store = tmp_path / "store"
    t = NOW - timedelta(minutes=3)
    for k in range(3):
        p = store / (t + timedelta(minutes=k)).strftime("%Y-%m-%d/%H") / "gate" / \
            (t + timedelta(minutes=k)).strftime("%M.%S.mp4")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(src.read_bytes() if k != 1 else b"\x00" * 4096)
    r = scan_store(store, parse_layout("frigate", UTC), RetentionOptions(days=0.001, sample=3), NOW)
    bad = store / (t + timedelta(minutes=1)).strftime("%Y-%m-%d/%H/gate/%M.%S.mp4")
    assert r["cameras"][0]["unreadable"] == [str(bad)] and not r["ok"]
