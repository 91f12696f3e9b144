"""`clausewatch camera run --once` against a real collector: observations become findings."""
from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.integration.conftest import cli

pytestmark = pytest.mark.integration


def clip(path: Path, chain: str) -> Path:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=s=320x180:r=25,{chain},format=yuv420p", "-t", "5", "-c:v", "libx264", "-preset",
                    "ultrafast", str(path)], check=True)
    return path


def frigate_store(root: Path, camera: str, days: float) -> None:
    now = datetime.now(UTC)
    t = now - timedelta(days=days)
    while t < now:
        p = root / t.strftime("%Y-%m-%d/%H") / camera / t.strftime("%M.%S.mp4")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.touch()
        t += timedelta(minutes=30)


def test_worker_ships_health_coverage_retention(collector, tmp_path: Path) -> None:
    good = clip(tmp_path / "good.mp4", "null")
    black = clip(tmp_path / "black.mp4", "drawbox=c=black:t=fill")
    frigate_store(tmp_path / "rec", "cam-01", 30)  # far short of 92 days
    site = tmp_path / "site.yaml"
    site.write_text(f"""\
site: default
zones:
  - {{id: floor-1, name: {{zh: 作业区, en: Work floor}}, kind: work_floor, polygon: [[0, 0], [10, 0], [10, 8], [0, 8]]}}
  - {{id: machine-room, name: {{zh: 机房, en: Machine room}}, kind: machine_room,
     polygon: [[10, 0], [14, 0], [14, 4], [10, 4]]}}
cameras:
  - id: cam-01
    source: {good}
    fps: 25
    zones: [floor-1]
    recording: {{path: rec, layout: frigate}}
  - id: cam-02
    source: {black}
    zones: [machine-room]
thresholds: {{probe_seconds: 5}}
floorplan_svg: plan/floor.svg
floorplan_png: plan/floor.png
""", encoding="utf-8")
    admin = collector.client(None)
    token = collector.login("admin")
    r = admin.post("/api/v1/source-tokens", json={"name": "camera-worker",
                                                     "subject_kinds": ["camera", "zone", "site"]},
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    run = cli("camera", "run", "--site", str(site), "--collector", collector.url, "--token", r.json()["token"],
              "--spool", str(tmp_path / "spool.db"),
              "--once", "--json")
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert report["probes"]["cam-02"]["faults"] == ["black"] and report["observations"] == 6
    svg = (tmp_path / "plan" / "floor.svg").read_text(encoding="utf-8")
    assert 'data-zone="machine-room"' in svg and "#f0746e" in svg  # the blind machine room is red
    png = cv2.imread(str(tmp_path / "plan" / "floor.png"))
    assert png is not None and (np.abs(png.astype(int) - (0x6e, 0x74, 0xf0)).max(axis=2) <= 12).mean() > 0.05

    reader = collector.client("admin")
    want = {("CAMERA-HEALTHY", "cam-01"): "pass", ("CAMERA-HEALTHY", "cam-02"): "fail",
            ("ZONE-COVERED", "floor-1"): "pass", ("ZONE-COVERED", "machine-room"): "fail",
            ("CCTV-RETENTION", "cam-01"): "fail"}
    deadline = time.monotonic() + 20
    got: dict[tuple[str, str], str] = {}
    while time.monotonic() < deadline:
        rows = reader.get("/api/v1/findings").json()
        got = {(f["control"], f["subject"]): f["status"] for f in rows if (f["control"], f["subject"]) in want}
        if got == want:
            break
        time.sleep(0.5)
    assert got == want

    # the floor plan reaches the collector as an attachment, for the dashboard and reports
    [plan] = reader.get("/api/v1/observations", params={"kind": "camera.floorplan"}).json()
    assert plan["payload"]["blind_spots"] == ["machine-room"]
    ref, png_ref = plan["evidence"]
    assert ref["media_type"] == "image/svg+xml" and png_ref["media_type"] == "image/png"
    from collector.store.sqlite import SqliteStore

    stored = SqliteStore(collector.db).get_evidence(ref["sha256"])
    assert stored is not None and b'data-zone="machine-room"' in stored

    # each camera's last sampled frame becomes its thumbnail
    health = reader.get("/api/v1/observations", params={"kind": "camera.health", "subject": "cam-01"}).json()
    [thumb] = health[0]["evidence"]
    jpeg = SqliteStore(collector.db).get_evidence(thumb["sha256"])
    assert thumb["media_type"] == "image/jpeg" and jpeg is not None and jpeg[:2] == b"\xff\xd8"
