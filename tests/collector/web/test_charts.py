"""Charts are plain SVG: thresholds drawn, values placed, no data said plainly."""
from __future__ import annotations

import re

from collector.web.charts import Chart, Series, bar_pct, sparkline


def test_chart_draws_both_thresholds_and_every_series():
    svg = str(Chart("Temperature", "°C", [Series("s1", [(0, 20.0), (3600, 22.0)]), Series("s2", [(0, 21.0)])],
                    low=18, high=27).svg())
    assert svg.count('stroke-dasharray="4 3"') == 2
    assert svg.count("<polyline") == 2
    assert ">18<" in svg and ">27<" in svg


def test_chart_axis_has_round_values_and_an_outage_is_a_gap():
    # readings every 5 minutes, none for 86 minutes in the middle (the mains outage)
    points = [(i * 300, 30.0 + i % 3) for i in range(12)] + [(11 * 300 + 86 * 60 + i * 300, 31.0) for i in range(12)]
    svg = str(Chart("UPS runtime", "min", [Series("ups-1", points)], low=30).svg())
    assert svg.count("<polyline") == 2  # drawn as two runs, not a straight line across the outage
    labels = [float(x) for x in re.findall(r'class="tick">(-?[\d.]+)</text>', svg)]
    assert len(set(labels)) >= 3  # values on the axis, not only the threshold


def test_chart_without_data_says_so_instead_of_drawing():
    assert "<svg" not in str(Chart("Dew point", "°C", [Series("s1", [])]).svg())


def test_sparkline_escapes_its_label_and_marks_the_last_value():
    svg = str(sparkline([0, 2, 1], label='<b>"x"</b>'))
    assert "<b>" not in svg and "&lt;b&gt;" in svg
    assert "<circle" in svg


def test_bar_is_red_below_its_threshold():
    assert "bad" in str(bar_pct(0.35, threshold=0.9))
    assert "bad" not in str(bar_pct(0.97, threshold=0.9))
    assert "—" in str(bar_pct(None))
