"""Report charts: an outage is a gap, not a straight line across it; printed axes are readable, with
values and labels in the report's language."""
from __future__ import annotations

import base64
import io
import math
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from collector import reports
from collector.reports.charts import with_gaps

T0 = datetime(2026, 11, 16, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")
SVG = "{http://www.w3.org/2000/svg}"


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


# --- the charts as printed in the PDF report ---
MIN_PRINTED_PT = 7.0  # the smallest type an auditor reads on paper without a loupe
SVG_URI = re.compile(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"')


def drawn_text(group: ET.Element) -> tuple[str, float] | None:
    """(text, size in the SVG's points) of one text matplotlib drew as glyph paths: a comment naming the
    text, then a group scaled by size / 100."""
    comment = next((c for c in group if c.tag is ET.Comment), None)
    glyphs = next((g for g in group if g.tag == f"{SVG}g" and "scale(" in g.get("transform", "")), None)
    if comment is None or glyphs is None:
        return None
    scale = re.search(r"scale\(([\d.]+)", glyphs.get("transform", ""))
    return (comment.text or "").strip(), float(scale.group(1)) * 100 if scale else 0.0


def axes_of(svg: str) -> list[dict[str, Any]]:
    """Per axis of a chart: its tick labels and its label, each (text, size in the SVG's points)."""
    root = ET.fromstring(svg, parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True)))
    out = []
    for axis in root.iter(f"{SVG}g"):
        if not axis.get("id", "").startswith("matplotlib.axis"):
            continue
        ticks = [drawn_text(g) for tick in axis if re.match(r"[xy]tick_", tick.get("id", ""))
                 for g in tick if g.get("id", "").startswith("text_")]
        label = [drawn_text(g) for g in axis if g.get("id", "").startswith("text_")]
        out.append({"ticks": [t for t in ticks if t], "label": next((t for t in label if t), None)})
    return out


def printed_width_pt(pdf: bytes) -> float:
    """The width a chart is printed at: the PDF page less the report's left and right page margins."""
    from pypdf import PdfReader

    page = PdfReader(io.BytesIO(pdf)).pages[1]
    css = (Path(reports.__file__).parent / "templates" / "report.css").read_text()
    top, right, bottom, left = (float(mm) for mm in re.search(r"@page \{[^}]*?margin: ([\d.]+)mm ([\d.]+)mm "
                                                                r"([\d.]+)mm ([\d.]+)mm", css).groups())
    return float(page.mediabox.width) - (left + right) * 72 / 25.4


@pytest.fixture(scope="module", params=["zh", "en"])
def printed_charts(request, site) -> tuple[str, list[tuple[str, float]]]:
    """(language, [(chart svg, its print scale)]) of the report as the PDF lays it out."""
    from collector.reports.build import build_report

    lang = request.param
    html = build_report(site.store, site.controls, site.start, site.end, "html", lang, tz=TZ).decode()
    width = printed_width_pt(build_report(site.store, site.controls, site.start, site.end, "pdf", lang, tz=TZ))
    charts = [base64.b64decode(m).decode() for m in SVG_URI.findall(html)]
    return lang, [(svg, width / float(ET.fromstring(svg).get("width", "0").removesuffix("pt"))) for svg in charts
                  if 'id="matplotlib.axis' in svg]


def test_printed_chart_axes_have_readable_values_and_labels_in_the_reports_language(printed_charts):
    lang, charts = printed_charts
    assert len(charts) >= 4  # posture, climate, UPS, retention, coverage of the simulated site
    for svg, scale in charts:
        for axis in axes_of(svg):
            assert len(axis["ticks"]) >= 3, axis  # values along the axis, not only a threshold
            small = [(text, round(size * scale, 1)) for text, size in axis["ticks"] if size * scale < MIN_PRINTED_PT]
            assert not small, small
            assert axis["label"], axis["ticks"]
            text, size = axis["label"]
            assert size * scale >= MIN_PRINTED_PT, axis["label"]
            assert re.search(r"[\u4e00-\u9fff]" if lang == "zh" else r"[a-z]{3,}", text), axis["label"]


def test_time_axes_read_in_the_sites_zone_and_say_which():
    from collector.reports.charts import posture_chart

    start = datetime(2026, 11, 16, 0, 0, tzinfo=TZ)  # 2026-11-15 16:00 UTC
    svg = posture_chart([], start, start + timedelta(hours=6), "en", TZ)
    time_axis = axes_of(svg)[0]
    hours = [int(text[-5:-3]) for text, _ in time_axis["ticks"]]
    assert hours and all(0 <= h <= 6 for h in hours), time_axis["ticks"]  # not 16:00-22:00 (UTC)
    assert time_axis["label"][0] == "Time (Asia/Shanghai)"
