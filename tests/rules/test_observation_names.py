"""Reasons name observation kinds and durations in words, never by their ids."""
from __future__ import annotations

from datetime import timedelta

from rules.observation_names import KIND_NAMES
from tests.rules.checks.judging import obs, run


def test_missing_data_is_named_in_words():
    r = run("CCTV-RETENTION", subject=("camera", "cam-01"))
    assert r.status == "unknown"
    assert r.reason_zh == "没有收到数据：录像存储扫描" and r.reason_en == "no data received: recording-store scan"
    assert r.value["missing"] == "camera.retention"  # the id stays in the value, for machines


def test_stale_data_names_the_kind_and_the_allowance_in_words():
    r = run("UPS-RUNTIME", obs("ups.status", {"flags": ["OL"], "battery_runtime_s": 2400}, age=timedelta(hours=3),
                               subject=("ups", "u1")), subject=("ups", "u1"))
    assert r.status == "unknown"
    assert "UPS 状态" in r.reason_zh and "ups.status" not in r.reason_zh and "分钟" in r.reason_zh
    assert "UPS status" in r.reason_en


def test_every_kind_the_simulated_site_sends_has_a_name():
    from collector.demo import SimSite
    from collector.demo.sources import snapshot

    site = SimSite(terminals=3, cameras=3)
    kinds = {o.kind for h in (0, 23, 24 * 3 + 22) for o in snapshot(site, site.start + timedelta(hours=h))}
    assert kinds and kinds - set(KIND_NAMES) == set()
