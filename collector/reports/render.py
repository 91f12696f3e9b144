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

from collector.reports.data import TOP_VIOLATIONS, ReportData, masked_reason
from collector.reports.i18n import duration_text, labels, status_label
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
    if lang == "en":
        return (f"{n} controls over {len(d.clauses)} tender clauses. At the end of the period {t.get('pass', 0)} "
                f"passed, {t.get('fail', 0)} failed, {t.get('unknown', 0)} had no current data and "
                f"{t.get('excepted', 0)} were under an approved exception. While they had data, controls were "
                f"compliant {avg:.1f} % of the time on average; {no_data:.1f} % of the period had no data "
                f"(counted apart); {total_violations} violations were recorded, "
                f"{len(d.contradictions)} contradict a manual attestation.")
    return (f"共 {n} 个控制项，覆盖 {len(d.clauses)} 条招标条款。期末 {t.get('pass', 0)} 项通过，"
            f"{t.get('fail', 0)} 项不通过，{t.get('unknown', 0)} 项无最新数据，"
            f"{t.get('excepted', 0)} 项处于已批准的例外期。"
            f"有数据期间控制项平均合规时间占比 {avg:.1f}%；报告期间平均 {no_data:.1f}% 的时间无数据（单独统计）；"
            f"期间共记录违规 {total_violations} 次，其中 {len(d.contradictions)} 处与人工声明矛盾。")


def render_html(d: ReportData, store: Store, lang: str = "zh", tz: ZoneInfo | None = None,
                evidence_href: Callable[[str | None], str | None] = lambda sha: None) -> str:
    """The report as one self-contained HTML page (charts inline)."""
    # matplotlib (the reports extra) is loaded when a report is drawn: the service starts without it
    from collector.reports.charts import all_charts

    tz = tz or ZoneInfo("Asia/Shanghai")
    L = labels(lang)
    charts = all_charts(store, d.results, d.start, d.end, L, lang, d.extra.get("site_filter"))
    uris = [(k, "data:image/svg+xml;base64," + base64.b64encode(v.encode()).decode()) for k, v in charts.items()]

    def local(value: str | datetime | None) -> str:
        if value is None:
            return "—"
        dt = datetime.fromisoformat(value) if isinstance(value, str) else value
        return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    total_violations = sum(len(r.violations) for r in d.results)
    return _env().get_template("report.html").render(
        d=d, L=L, lang=lang, css=(TEMPLATES / "report.css").read_text(encoding="utf-8"),
        period=f"{local(d.start)} — {local(d.end)} ({tz.key})", generated=local(d.generated_at),
        requested_end=local(d.extra["requested_end"]) if d.extra.get("requested_end") else None, tz_name=tz.key,
        digest=d.digest(), charts=uris, statuses=STATUSES, totals=d.totals(), total_violations=total_violations,
        summary_text=_summary_text(d, lang, total_violations),
        worst_controls=[r for r in d.results if r.status_end == "fail"],
        status=lambda s: status_label(s, lang), title=lambda c: c.title.get(lang),
        dur=lambda s: duration_text(s, lang), local=local, reason=lambda p: masked_reason(p, lang),
        evidence_href=evidence_href, top=TOP_VIOLATIONS)


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    # no base URL: a relative link (a bundle's evidence/<sha256>) stays relative to the PDF, and no path of
    # this machine ends up in the file (the page needs none: CSS and charts are inline, fonts are the system's)
    return HTML(string=html, base_url=None).write_pdf()
