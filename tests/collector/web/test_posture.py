"""Looking back: a day names the end of that day in the site's zone, never the future."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from collector.web.pagekit import PageError
from collector.web.views.posture import end_of_day

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_day_ends_at_midnight_site_time(now):
    end = end_of_day("2026-11-01", SHANGHAI, now)
    assert end == datetime(2026, 11, 1, 15, 59, 59, 999999, tzinfo=UTC)


def test_today_is_capped_at_now(now):
    assert end_of_day(now.date().isoformat(), SHANGHAI, now) == now


@pytest.mark.parametrize("day", ["yesterday", "2026-13-01", ""])
def test_a_malformed_day_is_a_400_page(day, now):
    with pytest.raises(PageError) as e:
        end_of_day(day, SHANGHAI, now)
    assert e.value.status_code == 400
