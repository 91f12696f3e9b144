"""Control status through a period from finding intervals: time compliant, violations, waivers."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collector.people.waivers import Waiver
from collector.reports.timeline import control_timeline, pct_compliant, pieces, violations
from collector.store.base import Interval

T0 = datetime(2026, 11, 1, tzinfo=UTC)
H = timedelta(hours=1)


def iv(subject: str, status: str, start_h: float, end_h: float | None) -> Interval:
    return Interval("C", "host", subject, "default", status, T0 + start_h * H,
                    None if end_h is None else T0 + end_h * H, {}, "zh", "en", [])


def waiver(start_h: float, end_h: float, subject: str = "a") -> Waiver:
    return Waiver(1, "C", "host", subject, "default", "why", "o", "m", T0, T0 + start_h * H, T0 + end_h * H, 1)


@pytest.mark.parametrize(("intervals", "waivers", "pct", "n_viol", "longest_h", "end_status"), [
    pytest.param([iv("a", "pass", 0, None)], [], 100.0, 0, 0, "pass", id="always-pass"),
    pytest.param([], [], 0.0, 0, 0, "no_data", id="no-data-is-not-pass"),
    pytest.param([iv("a", "pass", 5, None)], [], 100.0, 0, 0, "pass", id="time-before-data-is-apart"),
    pytest.param([iv("a", "pass", 0, 6), iv("a", "fail", 6, 8), iv("a", "pass", 8, None)], [], 80.0, 1, 2, "pass",
                 id="one-failure"),
    pytest.param([iv("a", "pass", 0, None), iv("b", "fail", 2, 3), iv("b", "fail", 5, 9)], [], 50.0, 2, 4, "pass",
                 id="worst-subject-wins"),
    pytest.param([iv("a", "unknown", 0, 5), iv("a", "pass", 5, None)], [], 50.0, 0, 0, "pass", id="unknown-counts"),
    pytest.param([iv("a", "fail", -5, None)], [], 0.0, 1, 10, "fail", id="clipped-to-period"),
    pytest.param([iv("a", "pass", 0, 5), iv("a", "fail", 5, None)], [waiver(7, 20)], 50.0, 1, 5, "excepted",
                 id="waiver-is-never-pass"),
])
def test_timeline(intervals, waivers, pct, n_viol, longest_h, end_status):
    start, end = T0, T0 + 10 * H
    ps = pieces(intervals, start, end, waivers)
    segs = control_timeline(ps, start, end)
    assert segs[0].start == start and segs[-1].end == end
    assert pct_compliant(segs) == pct
    v = violations(ps)
    assert len(v) == n_viol
    assert (v[0].seconds / 3600 if v else 0) == longest_h
    assert segs[-1].status == end_status


def test_time_without_data_is_counted_apart_from_compliance():
    from collector.reports.timeline import pct_no_data

    segs = control_timeline(pieces([iv("a", "pass", 4, 7), iv("a", "fail", 7, None)], T0, T0 + 10 * H), T0, T0 + 10 * H)
    assert [s.status for s in segs] == ["no_data", "pass", "fail"]
    assert pct_compliant(segs) == 50.0 and pct_no_data(segs) == 40.0


def test_waiver_splits_a_failure_but_it_stays_one_violation():
    ps = pieces([iv("a", "fail", 0, 10)], T0, T0 + 10 * H, [waiver(2, 4)])
    assert [(p.status, p.seconds / 3600) for p in ps] == [("fail", 2), ("excepted", 2), ("fail", 6)]
    (v,) = violations(ps)
    assert v.seconds == 10 * 3600 and v.status == "fail"


def test_sampling_the_timeline():
    from collector.reports.timeline import sample

    ps = pieces([iv("a", "pass", 0, 4), iv("a", "fail", 4, 6), iv("a", "pass", 6, None)], T0, T0 + 10 * H)
    segs = control_timeline(ps, T0, T0 + 10 * H)
    assert sample(segs, [T0 + h * H for h in (0, 3.9, 4, 5.9, 6, 9.9)]) == ["pass", "pass", "fail", "fail", "pass",
                                                                         "pass"]
    assert sample([], [T0]) == ["unknown"]
