"""Report charts: an outage is a gap, not a straight line across it."""
from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from collector.reports.charts import with_gaps

T0 = datetime(2026, 11, 16, tzinfo=UTC)


def test_an_outage_breaks_the_line():
    times = [T0 + timedelta(minutes=5 * i) for i in range(6)] + [T0 + timedelta(minutes=25 + 86 + 5 * i)
                                                                 for i in range(6)]
    ts, vs = with_gaps(times, [30.0] * 12)
    gaps = [i for i, v in enumerate(vs) if math.isnan(v)]
    assert len(gaps) == 1 and ts[gaps[0] - 1] < ts[gaps[0]] < ts[gaps[0] + 1]
    assert len(ts) == 13


def test_steady_samples_and_missing_values():
    times = [T0 + timedelta(hours=i) for i in range(4)]
    ts, vs = with_gaps(times, [1.0, None, 3.0, 4.0])
    assert ts == times and math.isnan(vs[1]) and vs[3] == 4.0
