"""The probe on labelled clips, and the persistence window on synthetic frames."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from camera.health import HealthTracker
from camera.probe import load_reference, probe
from tests.camera.conftest import FREEZE_VARIANTS

BIN = Path(sys.executable).parent / "clausewatch"
CLIPS = [(scene, label) for scene in ("testsrc2", "quiet")
         for label in ("healthy", "black", "blurred", "occluded", "occluded_dark", "frozen", "low_fps",
                       "cover_third", "cover_half", "cover_corner", "cover_hand")]


@pytest.mark.parametrize(("scene", "label"), [pytest.param(s, lb, id=f"{s}-{lb}") for s, lb in CLIPS])
def test_probe_finds_the_injected_fault_without_reference(clips: Path, scene: str, label: str) -> None:
    want = json.loads((clips / "labels.json").read_text())[f"{scene}__{label}.mp4"]
    result = probe(str(clips / f"{scene}__{label}.mp4"))
    assert result["online"] is True
    assert sorted(result["faults"]) == sorted(want), result["metrics"]


@pytest.mark.parametrize("label", [pytest.param("moved", id="moved"), pytest.param("healthy", id="healthy")])
def test_moved_needs_and_uses_the_reference(clips: Path, label: str) -> None:
    ref, baseline = load_reference(clips / "testsrc2__reference.png")
    result = probe(str(clips / f"testsrc2__{label}.mp4"), reference=ref, baseline=baseline)
    assert ("moved" in result["faults"]) == (label == "moved")
    assert "moved" not in probe(str(clips / f"testsrc2__{label}.mp4"))["faults"]


@pytest.mark.parametrize(("scene", "label", "enrolled", "faults"), [
    pytest.param("quiet", "cover_from_start", False, [], id="covered-before-probe-no-baseline"),
    pytest.param("quiet", "cover_from_start", True, ["occluded"], id="covered-before-probe-enrolled"),
    pytest.param("testsrc2", "cover_from_start", True, ["occluded"], id="pattern-covered-enrolled"),
    pytest.param("quiet", "healthy", True, [], id="healthy-enrolled"),
    pytest.param("quiet", "cover_half", True, ["occluded"], id="cover-arrives-enrolled"),
])
def test_partial_cover_before_the_probe_needs_the_enrolled_baseline(clips: Path, tmp_path: Path, scene: str,
                                                                     label: str, enrolled: bool,
                                                                     faults: list[str]) -> None:
    ref = baseline = None
    if enrolled:
        out = tmp_path / f"{scene}.png"
        assert _cli("enroll", str(clips / f"{scene}__healthy.mp4"), "--out", str(out)).returncode == 0
        assert json.loads(out.with_suffix(".json").read_text())["blocks"]["rows"] == 18
        ref, baseline = load_reference(out)
    result = probe(str(clips / f"{scene}__{label}.mp4"), reference=ref, baseline=baseline)
    assert result["faults"] == faults, result["metrics"]


def _textured(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (180, 320, 3), dtype=np.uint8)


@pytest.mark.parametrize(("black_s", "reported"), [
    pytest.param(2.0, False, id="shorter-than-window"),
    pytest.param(3.0, True, id="as-long-as-the-window"),
    pytest.param(4.0, True, id="longer-than-window"),
])
def test_fault_must_persist_over_the_window(black_s: float, reported: bool) -> None:
    tr = HealthTracker()
    for i in range(40):  # 8 s at 5 samples/s, black from 1 s for black_s seconds
        t = i * 0.2
        frame = np.zeros((180, 320, 3), np.uint8) if 1.0 <= t < 1.0 + black_s else _textured(i)
        tr.add(t, frame)
    assert ("black" in tr.image_faults()) is reported


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), "camera", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ})


def test_cli_json_contract_and_exit_codes(clips: Path, tmp_path: Path) -> None:
    ok = _cli("probe", str(clips / "quiet__healthy.mp4"), "--json")
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert {"source", "online", "fps", "frames", "faults", "metrics"} <= set(data)
    assert isinstance(data["fps"], float) and isinstance(data["frames"], int) and data["frames"] > 100
    assert all(isinstance(v, int | float) for v in data["metrics"].values())
    bad = _cli("probe", str(clips / "quiet__black.mp4"), "--json")
    assert bad.returncode == 1 and json.loads(bad.stdout)["faults"] == ["black"]
    missing = _cli("probe", str(tmp_path / "nope.mp4"), "--json")
    assert missing.returncode == 2 and "nope.mp4" in missing.stderr and missing.stdout == ""
    (tmp_path / "notes.mp4").write_text("not a video")
    garbage = _cli("probe", str(tmp_path / "notes.mp4"), "--json")
    assert garbage.returncode == 2 and "notes.mp4" in garbage.stderr and garbage.stdout == ""


def test_unreachable_stream_is_offline_and_its_password_is_not_repeated() -> None:
    result = probe("rtsp://admin:s3cret@127.0.0.1:9/cam", None)
    assert result["online"] is False and result["faults"] == ["offline"]
    assert result["source"] == "rtsp://admin:***@127.0.0.1:9/cam"


def test_enroll_writes_reference_and_baseline_used_by_probe(clips: Path, tmp_path: Path) -> None:
    out = tmp_path / "ref" / "cam-01.png"
    r = _cli("enroll", str(clips / "testsrc2__healthy.mp4"), "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    baseline = json.loads(out.with_suffix(".json").read_text())
    assert baseline["sharpness"] > 0
    moved = _cli("probe", str(clips / "testsrc2__moved.mp4"), "--reference", str(out), "--json")
    assert "moved" in json.loads(moved.stdout)["faults"]


def _still_clip(out: Path, source_clip: Path) -> Path:
    """A clip that is one picture from its first frame: a test pattern, or a camera frozen before we looked."""
    png = out.with_suffix(".png")
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source_clip), "-frames:v", "1",
                    str(png)], check=True)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-loop", "1", "-framerate", "25", "-i",
                    str(png), "-t", "5", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out)],
                   check=True)
    return out


def test_still_from_first_frame_is_frozen_with_or_without_a_baseline(clips: Path, tmp_path: Path) -> None:
    still = _still_clip(tmp_path / "still.mp4", clips / "testsrc2__healthy.mp4")
    alone = _cli("probe", str(still), "--json")
    assert alone.returncode == 1 and json.loads(alone.stdout)["faults"] == ["frozen"]
    assert json.loads(alone.stdout)["metrics"]["frozen_diff_limit"] == 0.0
    ref = tmp_path / "cam.png"
    assert _cli("enroll", str(clips / "testsrc2__healthy.mp4"), "--out", str(ref)).returncode == 0
    judged = _cli("probe", str(still), "--reference", str(ref), "--json")
    assert json.loads(judged.stdout)["faults"] == ["frozen"]


def test_a_defocused_moving_scene_is_blurred_not_covered(tmp_path: Path) -> None:
    """Blur smears a changing scene into flat patches of new colours: that is a soft lens, not a cover."""
    subprocess.run([sys.executable, str(Path(__file__).resolve().parents[2] / "bench" / "make_clips.py"),
                    str(tmp_path), "--seconds", "5", "--size", "320x180", "--scenes", "life", "--only", "blurred"],
                   check=True, timeout=120)
    result = probe(str(tmp_path / "life__blurred.mp4"))
    assert result["faults"] == ["blurred"], result["metrics"]


FREEZES = [(v.replace(":", "-"), label) for v in FREEZE_VARIANTS
           for label in ("healthy", "frozen_start", "frozen_midway")]


@pytest.mark.parametrize(("variant", "label"), [pytest.param(v, lb, id=f"{v}-{lb}") for v, lb in FREEZES])
def test_frozen_recordings_are_found_and_healthy_ones_are_not(frozen_clips: Path, variant: str, label: str) -> None:
    """Several scenes, codecs (H.264, H.265, MPEG-4, MJPEG), sizes and frame rates; no baseline."""
    scene, size, codec, fps = variant.split("-")
    clip = next(frozen_clips.glob(f"{scene}-{codec}-{size}-{fps}fps__{label}.*"))
    result = probe(str(clip))
    assert result["online"] is True and result["fps"] == pytest.approx(int(fps), rel=0.05)
    assert result["faults"] == ([] if label == "healthy" else ["frozen"]), result["metrics"]


@pytest.mark.parametrize("variant", [v for v in FREEZE_VARIANTS if v.split(":")[0] in ("quiet", "bars")])
def test_frozen_recordings_are_found_against_the_enrolled_baseline(frozen_clips: Path, tmp_path: Path,
                                                                   variant: str) -> None:
    scene, size, codec, fps = variant.split(":")
    name = f"{scene}-{codec}-{size}-{fps}fps"
    ref = tmp_path / f"{name}.png"
    assert _cli("enroll", str(next(frozen_clips.glob(f"{name}__healthy.*"))), "--out", str(ref)).returncode == 0
    view, baseline = load_reference(ref)
    for label, faults in (("healthy", []), ("frozen_start", ["frozen"]), ("frozen_midway", ["frozen"])):
        result = probe(str(next(frozen_clips.glob(f"{name}__{label}.*"))), reference=view, baseline=baseline)
        assert result["faults"] == faults, (label, result["metrics"])
