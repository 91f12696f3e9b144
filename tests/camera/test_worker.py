"""One worker round against a recording HTTP server: what it ships, and that a plan it cannot write does
not stop it (the real collector is exercised in tests/integration/test_camera_worker.py)."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from agents.shipping.http import HttpClient
from agents.shipping.sink import HttpSink
from agents.shipping.spool import Spool
from camera.site import load_site
from camera.worker import Worker
from tests.agents.shipping.recording_server import recording_server


def test_a_floor_plan_that_cannot_be_written_does_not_stop_the_round(clips: Path, tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "blocked").write_text("a file where the plan's folder should be")
    site_file = tmp_path / "site.yaml"
    site_file.write_text(f"""\
zones:
  - {{id: floor-1, name: {{zh: 作业区, en: Work floor}}, kind: work_floor, polygon: [[0, 0], [8, 0], [8, 6], [0, 6]]}}
cameras:
  - {{id: cam-01, source: {clips / "quiet__healthy.mp4"}, zones: [floor-1]}}
thresholds: {{probe_seconds: 2}}
floorplan_svg: plan/floor.svg
floorplan_png: blocked/floor.png
""", encoding="utf-8")
    with recording_server() as collector:
        sink = HttpSink(Spool(tmp_path / "spool.db"), HttpClient(collector.url), token="token")
        worker = Worker(load_site(site_file), sink, min_fraction=0.9)
        with caplog.at_level(logging.WARNING, logger="clausewatch.camera"):
            report = worker.round()
    assert report["ok"] is True and "blocked/floor.png" in caplog.text and report["spooled"] == 0
    assert (tmp_path / "plan" / "floor.svg").read_text(encoding="utf-8").startswith("<svg")
    seen = collector.seen
    uploads = {r.query["name"][0]: r.headers["content-type"] for r in seen if r.method == "PUT"}
    assert uploads == {"cam-01.jpg": "image/jpeg", "floorplan.svg": "image/svg+xml", "floorplan.png": "image/png"}
    [post] = [r for r in seen if r.method == "POST"]
    kinds = [o["kind"] for o in json.loads(post.body)["observations"]]
    assert kinds.count("camera.floorplan") == 1 and "camera.health" in kinds
