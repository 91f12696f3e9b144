"""HTML and PDF from the same Jinja2 template; the PDF (WeasyPrint) embeds subsets of the
Noto CJK font installed by Debian's fonts-noto-cjk, so Chinese shows on any machine."""
from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from collector.i18n import Translator, duration_text, translate
from collector.reports.data import TOP_VIOLATIONS, ReportData, masked_reason
from collector.store.base import Store

TEMPLATES = Path(__file__).parent / "templates"
STATUSES = ("pass", "excepted", "unknown", "fail")


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def _summary_text(d: ReportData, lang: str, total_violations: int) -> str:
    t = d.totals()
    n = len(d.results)
    measured = [r for r in d.results if r.pct_no_data < 100.0]
    avg = sum(r.pct_compliant for r in measured) / len(measured) if measured else 0.0
    no_data = sum(r.pct_no_data for r in d.results) / n if n else 0.0
    return translate("report_summary_text", lang, n=n, clauses=len(d.clauses), passed=t.get("pass", 0),
                     failed=t.get("fail", 0), unknown=t.get("unknown", 0), excepted=t.get("excepted", 0),
                     avg=f"{avg:.1f}", no_data=f"{no_data:.1f}", violations=total_violations,
                     contradictions=len(d.contradictions))


def render_html(d: ReportData, store: Store, lang: str = "zh", tz: ZoneInfo | None = None,
                evidence_href: Callable[[str | None], str | None] = lambda sha: None) -> str:
    """The report as one self-contained HTML page (charts inline)."""
    # matplotlib (the reports extra) is loaded when a report is drawn: the service starts without it
    from collector.reports.charts import all_charts

    tz = tz or ZoneInfo("Asia/Shanghai")
    charts = all_charts(store, d.results, d.start, d.end, lang, d.extra.get("site_filter"), tz)
    uris = [(k, "data:image/svg+xml;base64," + base64.b64encode(v.encode()).decode()) for k, v in charts.items()]

    def local(value: str | datetime | None) -> str:
        if value is None:
            return "—"
        dt = datetime.fromisoformat(value) if isinstance(value, str) else value
        return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    total_violations = sum(len(r.violations) for r in d.results)
    return _env().get_template("report.html").render(
        d=d, t=Translator(lang), lang=lang, css=(TEMPLATES / "report.css").read_text(encoding="utf-8"),
        period=f"{local(d.start)} — {local(d.end)} ({tz.key})", generated=local(d.generated_at),
        requested_end=local(d.extra["requested_end"]) if d.extra.get("requested_end") else None, tz_name=tz.key,
        digest=d.digest(), charts=uris, statuses=STATUSES, totals=d.totals(), total_violations=total_violations,
        summary_text=_summary_text(d, lang, total_violations),
        worst_controls=[r for r in d.results if r.status_end == "fail"],
        title=lambda c: c.title.get(lang),
        dur=lambda s: duration_text(s, lang), local=local, reason=lambda p: masked_reason(p, lang),
        evidence_href=evidence_href, top=TOP_VIOLATIONS)


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    # no base URL: a relative link (a bundle's evidence/<sha256>) stays relative to the PDF, and no path of
    # this machine ends up in the file (the page needs none: CSS and charts are inline, fonts are the system's)
    return HTML(string=html, base_url=None).write_pdf()
