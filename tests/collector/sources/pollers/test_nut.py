from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from collector.sources.pollers.nut import status_payload
from collector.sources.pollers.nut import test_date_iso as date_iso

TZ = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("raw", "want"), [
    pytest.param("2026-11-20", "2026-11-20T00:00:00+08:00", id="iso-date"),
    pytest.param("11/20/2026", "2026-11-20T00:00:00+08:00", id="us-date-apc"),
    pytest.param("2026-11-20T03:00:00+00:00", "2026-11-20T03:00:00+00:00", id="iso-time"),
    pytest.param("not yet", None, id="garbage"),
    pytest.param("", None, id="empty"),
])
def test_test_date_normalised(raw, want):
    assert date_iso(raw, TZ) == want


def test_status_payload_numbers_and_flags():
    p = status_payload({"ups.status": "OB LB DISCHRG", "battery.runtime": "310", "battery.charge": "18.5",
                        "ups.load": "n/a"}, TZ)
    assert p["flags"] == ["OB", "LB", "DISCHRG"] and p["battery_runtime_s"] == 310.0
    assert p["battery_charge_pct"] == 18.5 and p["ups_load_pct"] is None and p["error"] is None
