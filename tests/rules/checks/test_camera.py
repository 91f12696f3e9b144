"""Camera checks: health, coverage and retention payloads judged against the catalog's parameters."""
import pytest

from tests.rules.checks.judging import obs, run

CAM = ("camera", "cam-01")
ZONE = ("zone", "floor-1")


@pytest.mark.parametrize(("payload", "status"), [
    pytest.param({"online": True, "fps": 12.5, "faults": []}, "pass", id="healthy"),
    pytest.param({"online": True, "fps": 12.5, "faults": ["occluded"]}, "fail", id="covered"),
    pytest.param({"online": False, "fps": 0, "faults": ["offline"]}, "fail", id="offline"),
])
def test_camera_healthy(payload, status):
    assert run("CAMERA-HEALTHY", obs("camera.health", payload, subject=CAM), subject=CAM).status == status


@pytest.mark.parametrize(("payload", "status"), [
    pytest.param({"fraction": 0.95, "must_cover": True}, "pass", id="covered"),
    pytest.param({"fraction": 0.5, "must_cover": True, "reason": "cam-02: moved"}, "fail", id="blind"),
    pytest.param({"fraction": 0.93, "must_cover": True, "min_fraction": 0.97}, "fail", id="site-asks-more"),
    pytest.param({"fraction": 0.85, "must_cover": True, "min_fraction": 0.5}, "fail", id="site-cannot-ask-less"),
])
def test_zone_covered(payload, status):
    assert run("ZONE-COVERED", obs("zone.coverage", payload, subject=ZONE), subject=ZONE).status == status


@pytest.mark.parametrize(("payload", "status"), [
    pytest.param({"continuous_days": 95, "gaps": [], "unreadable": []}, "pass", id="kept"),
    pytest.param({"continuous_days": 41, "gaps": [], "unreadable": []}, "fail", id="deleted-when-full"),
    pytest.param({"continuous_days": 95, "gaps": [], "unreadable": ["a.mp4"]}, "fail", id="unreadable"),
    pytest.param({"continuous_days": 95, "gaps": [], "unreadable": [], "retention_days": 120}, "fail",
                 id="site-asks-more"),
])
def test_footage_retained(payload, status):
    assert run("CCTV-RETENTION", obs("camera.retention", payload, subject=CAM), subject=CAM).status == status


# 98 days held, but the recorder stopped 40 minutes ago: depth passes, recording now fails, each with its reason
STOPPED = {"days": 98.46, "continuous_days": 98.43, "recording_lag_s": 2400, "unreadable": [],
           "gaps": [{"start": "2026-12-04T23:04:00+08:00", "end": "2026-12-04T23:44:00+08:00"}]}


@pytest.mark.parametrize(("payload", "status"), [
    pytest.param({**STOPPED, "recording_lag_s": 30}, "pass", id="recording"),
    pytest.param(STOPPED, "fail", id="stopped-40-min"),
    pytest.param({"continuous_days": 95}, "unknown", id="scan-without-newest"),
])
def test_recorder_recording(payload, status):
    assert run("CCTV-RECORDING", obs("camera.retention", payload, subject=CAM), subject=CAM).status == status


def test_a_stopped_recorder_keeps_its_footage_depth():
    depth = run("CCTV-RETENTION", obs("camera.retention", STOPPED, subject=CAM), subject=CAM)
    now = run("CCTV-RECORDING", obs("camera.retention", STOPPED, subject=CAM), subject=CAM)
    assert depth.status == "pass" and "98.4" in depth.reason_en
    assert now.status == "fail" and "40 min" in now.reason_en and "40 分钟" in now.reason_zh
