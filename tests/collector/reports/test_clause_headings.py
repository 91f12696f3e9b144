"""Each clause of the report is headed by the tender's full wording."""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from collector.reports.build import build_report

# T12.2-c as the tender words it (the heading once read "闭路电视…记录图像至少保留 3 个月")
CCTV = "配备闭路电视或数字记录系统以捕捉影像的情况,记录图像至少保留 3 个月"


def test_report_clause_headings_are_the_tenders_full_text(site):
    html = build_report(site.store, site.controls, site.start, site.end, "html", "zh",
                        tz=ZoneInfo("Asia/Shanghai")).decode()
    headings = re.findall(r'<h3 id="clause-\d+">(.*?)</h3>', html)
    assert len(headings) > 30
    assert f"T12.2-c {CCTV}" in headings
    assert not [h for h in headings if "…" in h]
