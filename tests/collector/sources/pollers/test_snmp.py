from __future__ import annotations

from datetime import UTC, datetime

import pytest

from collector.sources.pollers.snmp import UPS_OIDS, selftest_date, ups_payload

POLLED = datetime(2026, 11, 29, 2, 0, 0, tzinfo=UTC)
DAY_TICKS = 86400 * 100


@pytest.mark.parametrize(("result", "start", "uptime", "want"), [
    pytest.param(1, 100, 100 + 3 * DAY_TICKS, "2026-11-26T02:00:00+00:00", id="three-days-ago"),
    pytest.param(5, 4 * DAY_TICKS, 4 * DAY_TICKS + 6000, "2026-11-29T01:59:00+00:00", id="in-progress"),
    pytest.param(3, 2 ** 32 - 40 * DAY_TICKS, 500, "2026-10-20T01:59:55+00:00", id="uptime-wrapped"),
    pytest.param(6, 100, 5000, None, id="no-test-initiated"),
    pytest.param(1, 0, 5000, None, id="before-agent-restart"),
    pytest.param(1, 100, None, None, id="no-sysuptime"),
    pytest.param(None, 100, 5000, None, id="no-result"),
])
def test_selftest_date_from_sysuptime(result, start, uptime, want):
    got = selftest_date(result, start, uptime, POLLED)
    assert (got.isoformat() if got else None) == want


def test_ups_payload_carries_test_result_and_date():
    values = {UPS_OIDS["output_source"]: 3, UPS_OIDS["battery_status"]: 2, UPS_OIDS["minutes_remaining"]: 40,
              UPS_OIDS["test_result"]: 3, UPS_OIDS["test_start_ticks"]: 1000, UPS_OIDS["uptime_ticks"]: 1000 + 6000}
    p = ups_payload(values, POLLED)
    assert p["test_result"] == "Done and error" and p["test_date"] == "2026-11-29T01:59:00+00:00"
    assert p["flags"] == ["OL"] and p["battery_runtime_s"] == 2400
