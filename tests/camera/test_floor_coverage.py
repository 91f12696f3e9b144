"""site.yaml validation and zone coverage by healthy cameras."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from camera.floor_coverage import CameraState, compute_coverage
from camera.floorplan import render_svg
from camera.site import SiteError, load_site

BIN = Path(sys.executable).parent / "clausewatch"
SITE = """\
site: demo
zones:
  - id: floor-1
    name: {zh: 一号作业区, en: Work floor 1}
    kind: work_floor
    polygon: [[0, 0], [10, 0], [10, 8], [0, 8]]
  - id: machine-room
    name: {zh: 机房, en: Machine room}
    kind: machine_room
    polygon: [[10, 0], [14, 0], [14, 4], [10, 4]]
  - id: corridor
    name: {zh: 走廊, en: Corridor}
    kind: entrance
    polygon: [[0, 8], [14, 8], [14, 10], [0, 10]]
    must_cover: false
cameras:
  - id: cam-01
    source: rtsp://127.0.0.1/cam1
    polygon: [[0, 0], [10, 0], [10, 8], [0, 8]]
  - id: cam-02
    source: rtsp://127.0.0.1/cam2
    zones: [machine-room]
"""


@pytest.fixture
def site_file(tmp_path: Path) -> Path:
    p = tmp_path / "site.yaml"
    p.write_text(SITE, encoding="utf-8")
    return p


@pytest.mark.parametrize(("states", "blind"), [
    pytest.param({}, [], id="all-healthy"),
    pytest.param({"cam-01": CameraState(True), "cam-02": CameraState(False, ["occluded"])}, ["machine-room"],
                 id="occluded-camera-leaves-blind-spot"),
])
def test_coverage(site_file: Path, states: dict[str, CameraState], blind: list[str]) -> None:
    r = compute_coverage(load_site(site_file), states, min_fraction=0.9)
    assert [b["zone"] for b in r["blind_spots"]] == blind
    if blind:
        assert r["blind_spots"][0]["cameras"][0] == {"camera": "cam-02", "why": "occluded", "fraction": 1.0}
    assert "corridor" not in [b["zone"] for b in r["blind_spots"]]


@pytest.mark.parametrize(("probe", "healthy"), [
    pytest.param({"online": True, "faults": []}, True, id="healthy"),
    pytest.param({"online": True, "faults": ["low_fps"]}, True, id="slow-but-seeing"),
    pytest.param({"online": True, "faults": ["moved"]}, False, id="moved"),
    pytest.param({"online": False, "faults": ["offline"]}, False, id="offline"),
])
def test_which_probe_results_still_see(probe: dict, healthy: bool) -> None:
    from camera.floor_coverage import state_from_probe

    assert state_from_probe(probe).healthy is healthy


def test_partial_view_cone_is_a_blind_spot(tmp_path: Path) -> None:
    p = tmp_path / "site.yaml"
    p.write_text(SITE.replace("    polygon: [[0, 0], [10, 0], [10, 8], [0, 8]]\n  - id: cam-02",
                              "    view: {position: [0, 0], heading_deg: 45, fov_deg: 60, range_m: 8}\n"
                              "  - id: cam-02"), encoding="utf-8")
    site = load_site(p)
    r = compute_coverage(site, min_fraction=0.9)
    floor = next(z for z in r["zones"] if z["zone"] == "floor-1")
    assert not floor["covered"] and 0.1 < floor["fraction"] < 0.9 and "sees only" in floor["reason"]
    svg = render_svg(site, r)
    assert svg.startswith("<svg") and 'data-camera="cam-01"' in svg and "一号作业区" in svg


@pytest.mark.parametrize(("old", "new", "line", "key"), [
    pytest.param("kind: machine_room", "kind: server_room", 9, "zones.1.kind", id="bad-kind"),
    pytest.param("zones: [machine-room]", "zones: [vault]", 22, "cameras.1.zones", id="unknown-zone"),
    pytest.param("[[10, 0], [14, 0], [14, 4], [10, 4]]", "[[10, 0], [14, 0]]", 10, "zones.1.polygon",
                 id="polygon-too-short"),
])
def test_site_errors_name_file_line_key(tmp_path: Path, old: str, new: str, line: int, key: str) -> None:
    p = tmp_path / "site.yaml"
    p.write_text(SITE.replace(old, new), encoding="utf-8")
    with pytest.raises(SiteError) as e:
        load_site(p)
    assert str(e.value).startswith(f"{p}:{line}:")
    assert key in str(e.value)


def test_cli_with_health_file(site_file: Path, tmp_path: Path) -> None:
    health = tmp_path / "health.json"
    health.write_text(json.dumps([{"source": "rtsp://127.0.0.1/cam2", "online": False, "fps": 0, "frames": 0,
                                   "faults": ["offline"], "metrics": {}},
                                  {"source": "rtsp://127.0.0.1/cam1", "online": True, "fps": 25, "frames": 250,
                                   "faults": [], "metrics": {}}]))
    svg = tmp_path / "plan.svg"
    p = subprocess.run([str(BIN), "camera", "coverage", str(site_file), "--health", str(health), "--svg", str(svg),
                        "--json"], capture_output=True, text=True, timeout=60, env={**os.environ})
    assert p.returncode == 1, p.stderr
    data = json.loads(p.stdout)
    assert data["covered"] == ["floor-1"] and data["blind_spots"][0]["zone"] == "machine-room"
    assert "offline" in data["blind_spots"][0]["reason"] and svg.is_file()
    bad = subprocess.run([str(BIN), "camera", "coverage", str(tmp_path / "none.yaml")], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2


def _partial_cone_site(tmp_path: Path, thresholds: str = "") -> Path:
    p = tmp_path / "site.yaml"
    p.write_text(SITE.replace("    polygon: [[0, 0], [10, 0], [10, 8], [0, 8]]\n  - id: cam-02",
                              "    view: {position: [0, 0], heading_deg: 45, fov_deg: 60, range_m: 8}\n"
                              "  - id: cam-02") + thresholds, encoding="utf-8")
    return p


def _floor(site: Path, env: dict[str, str]) -> dict:
    p = subprocess.run([str(BIN), "camera", "coverage", str(site), "--json"], capture_output=True, text=True,
                       timeout=60, env={**os.environ, **env})
    assert p.returncode in (0, 1), p.stderr
    return next(z for z in json.loads(p.stdout)["zones"] if z["zone"] == "floor-1")


def test_the_coverage_required_is_the_catalogs_and_a_site_may_ask_more(tmp_path: Path) -> None:
    """The camera marks zones the way the zone_covered check judges them: with control ZONE-COVERED's
    min_fraction from the catalog in force, or the site file's when it asks more."""
    from rules.catalog import check_param, load_catalog
    from tests.rules.catalog_copy import catalog_with

    site = _partial_cone_site(tmp_path)
    seen = compute_coverage(load_site(site), min_fraction=0.9)
    share = next(z for z in seen["zones"] if z["zone"] == "floor-1")["fraction"]
    lenient = catalog_with(tmp_path / "lenient", {"ZONE-COVERED": {"min_fraction": round(share - 0.05, 2)}})
    assert check_param(load_catalog(lenient), "zone_covered", "min_fraction") < share
    assert _floor(site, {})["covered"] is False  # the built-in catalog asks 0.9
    assert _floor(site, {"CLAUSEWATCH_CONTROLS_DIR": str(lenient)})["covered"] is True
    stricter = _partial_cone_site(tmp_path, "thresholds: {coverage_min_fraction: 0.95}\n")
    assert _floor(stricter, {"CLAUSEWATCH_CONTROLS_DIR": str(lenient)})["covered"] is False
