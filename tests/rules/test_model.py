"""The calendar a sender's times must lie in: 1970-01-01 to 2999-12-31 UTC, whatever the offset."""
from __future__ import annotations

from datetime import datetime

import pytest

from rules.model import in_calendar


@pytest.mark.parametrize(("text", "taken"), [
    pytest.param("1969-12-31T23:00:00-02:00", True, id="1969-local-is-1970-utc"),
    pytest.param("1970-01-01T01:00:00+02:00", False, id="1970-local-is-1969-utc"),
    pytest.param("1970-01-01T00:00:00+00:00", True, id="first-second"),
    pytest.param("1971-01-01T00:00:00+14:00", True, id="1971"),
    pytest.param("2998-12-31T23:59:59-12:00", True, id="2998"),
    pytest.param("2999-12-31T23:00:00+05:00", True, id="2999-local-east"),
    pytest.param("2999-12-31T23:00:00-05:00", False, id="2999-local-is-3000-utc"),
    pytest.param("3000-01-01T03:00:00+05:00", True, id="3000-local-is-2999-utc"),
    pytest.param("1960-06-01T00:00:00+00:00", False, id="1960"),
    pytest.param("9999-12-31T23:59:59-23:59", False, id="9999"),
])
def test_a_time_is_taken_only_inside_the_calendar_in_utc(text: str, taken: bool) -> None:
    v = datetime.fromisoformat(text)
    if taken:
        assert in_calendar(v) == v
    else:
        with pytest.raises(ValueError, match="between 1970-01-01 and 2999-12-31"):
            in_calendar(v)


def test_a_time_without_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        in_calendar(datetime(2026, 11, 29, 10))
