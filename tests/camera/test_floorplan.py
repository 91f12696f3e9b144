"""The floor plan as SVG and as PNG rendered from it (cairosvg): size, coverage colours, CJK labels."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from camera.floor_coverage import CameraState, compute_coverage
from camera.floorplan import COLOURS, render_png, render_svg, write_plan
from camera.site import load_site
from tests.camera.test_floor_coverage import BIN, SITE

BLIND = {"cam-01": CameraState(True), "cam-02": CameraState(False, ["occluded"])}


def _site(tmp_path: Path, text: str = SITE):
    p = tmp_path / "site.yaml"
    p.write_text(text, encoding="utf-8")
    return load_site(p)


def _bgr(hex_colour: str) -> np.ndarray:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return np.array([b, g, r])


def _share_of(image: np.ndarray, hex_colour: str, tolerance: int = 12) -> float:
    near = np.abs(image[:, :, :3].astype(np.int16) - _bgr(hex_colour)).max(axis=2) <= tolerance
    return float(near.mean())


@pytest.mark.parametrize(("states", "blind_share_min", "blind_share_max"), [
    pytest.param({}, 0.0, 0.0, id="all-covered-no-red"),
    pytest.param(BLIND, 0.05, 1.0, id="blind-machine-room-is-red"),
])
def test_png_has_the_svg_size_and_its_coverage_colours(tmp_path: Path, states: dict[str, CameraState],
                                                       blind_share_min: float, blind_share_max: float) -> None:
    site = _site(tmp_path)
    coverage = compute_coverage(site, states, min_fraction=0.9)
    image = cv2.imdecode(np.frombuffer(render_png(site, coverage), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    width, height = (int(v) for v in re.search(r'width="(\d+)" height="(\d+)"', render_svg(site, coverage)).groups())
    assert image.shape[:2] == (height, width)
    assert blind_share_min <= _share_of(image, COLOURS["blind"]) <= blind_share_max
    assert _share_of(image, COLOURS["covered"], tolerance=20) > 0.2  # the work floor, under a camera's view cone


def _label_crop(tmp_path: Path, zh: str) -> np.ndarray:
    site = _site(tmp_path, SITE.replace("一号作业区", zh))
    coverage = compute_coverage(site, {}, min_fraction=0.9)
    image = cv2.imdecode(np.frombuffer(render_png(site, coverage), np.uint8), cv2.IMREAD_GRAYSCALE)
    x, y = (float(v) for v in re.search(r'<text x="([\d.]+)" y="([\d.]+)"', render_svg(site, coverage)).groups())
    return image[int(y) - 14:int(y) + 4, int(x) - 50:int(x) + 50]


def test_chinese_zone_names_are_drawn_as_glyphs(tmp_path: Path) -> None:
    """Without a CJK font every character is the same empty box: two different names would look alike."""
    first, second = _label_crop(tmp_path, "一号作业区"), _label_crop(tmp_path, "机房监控区")
    assert (first < 128).sum() > 40  # there is text
    assert np.abs(first.astype(np.int16) - second.astype(np.int16)).max() > 100


def test_write_plan_by_extension(tmp_path: Path) -> None:
    site = _site(tmp_path)
    coverage = compute_coverage(site, BLIND, min_fraction=0.9)
    write_plan(tmp_path / "out" / "plan.png", site, coverage)
    write_plan(tmp_path / "out" / "plan.svg", site, coverage)
    assert (tmp_path / "out" / "plan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "out" / "plan.svg").read_text(encoding="utf-8").startswith("<svg")
    with pytest.raises(ValueError, match="svg or .png"):
        write_plan(tmp_path / "plan.gif", site, coverage)


def test_cli_writes_png_and_svg_and_refuses_other_formats(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(SITE, encoding="utf-8")
    health = tmp_path / "health.json"
    health.write_text(json.dumps({"cam-02": {"source": "rtsp://127.0.0.1/cam2", "online": False, "fps": 0.0,
                                             "frames": 0, "faults": ["offline"], "metrics": {}}}))
    png, svg = tmp_path / "plan.png", tmp_path / "plan.svg"
    r = subprocess.run([str(BIN), "camera", "coverage", str(site), "--health", str(health), "--plan", str(png),
                        "--plan", str(svg), "--json"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stderr  # the machine room is blind
    assert json.loads(r.stdout)["plan"] == [str(png), str(svg)]
    image = cv2.imread(str(png))
    assert image is not None and _share_of(image, COLOURS["blind"]) > 0.05
    assert 'data-zone="machine-room"' in svg.read_text(encoding="utf-8")
    bad = subprocess.run([str(BIN), "camera", "coverage", str(site), "--plan", str(tmp_path / "plan.gif"), "--json"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--plan" in bad.stderr and "plan.gif" in bad.stderr and bad.stdout == ""
