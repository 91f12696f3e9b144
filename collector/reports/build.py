"""build_report: one entry point for every report format. Formats register by name, ours the
same way an outsider's would."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import orjson

from collector.reports import oscal, tables
from collector.reports.bundle import REPORT_DATA, write_bundle
from collector.reports.data import ReportData, gather
from collector.reports.render import html_to_pdf, render_html
from collector.store.base import Store
from rules.model import Control


@dataclass
class Context:
    store: Store
    data: ReportData
    lang: str
    tz: ZoneInfo
    public_url: str | None = None

    def standalone_href(self, sha: str | None) -> str | None:
        """Where a standalone report links an evidence file: the collector's public URL, else nowhere
        (the report names the SHA-256 to look it up); never a path of this machine."""
        if not sha or not self.public_url:
            return None
        return f"{self.public_url.rstrip('/')}/api/v1/evidence/{sha}"


def bundle_href(sha: str | None) -> str | None:
    """Inside a bundle: the bundle's own member, a relative link that works once unzipped."""
    return f"evidence/{sha}" if sha else None


Formatter = Callable[[Context], bytes]
FORMATS: dict[str, Formatter] = {}
MEDIA_TYPES: dict[str, tuple[str, str]] = {}  # format -> (media type, file suffix)


def report_format(name: str, media_type: str, suffix: str) -> Callable[[Formatter], Formatter]:
    def reg(fn: Formatter) -> Formatter:
        FORMATS[name] = fn
        MEDIA_TYPES[name] = (media_type, suffix)
        return fn

    return reg


@report_format("html", "text/html; charset=utf-8", ".html")
def as_html(ctx: Context) -> bytes:
    return render_html(ctx.data, ctx.store, ctx.lang, ctx.tz, ctx.standalone_href).encode()


@report_format("pdf", "application/pdf", ".pdf")
def as_pdf(ctx: Context) -> bytes:
    return html_to_pdf(render_html(ctx.data, ctx.store, ctx.lang, ctx.tz, ctx.standalone_href))


@report_format("oscal", "application/json", ".json")
def as_oscal(ctx: Context) -> bytes:
    return orjson.dumps(oscal.build(ctx.data, ctx.standalone_href), option=orjson.OPT_INDENT_2)


@report_format("csv", "text/csv; charset=utf-8", ".csv")
def as_csv(ctx: Context) -> bytes:
    return tables.combined_csv(ctx.data)


@report_format("bundle", "application/zip", ".zip")
def as_bundle(ctx: Context) -> bytes:
    html = render_html(ctx.data, ctx.store, ctx.lang, ctx.tz, bundle_href)
    files = {
        "report.html": html.encode(),
        "report.pdf": html_to_pdf(html),
        "assessment-results.json": orjson.dumps(oscal.build(ctx.data, bundle_href), option=orjson.OPT_INDENT_2),
        "intervals.csv": tables.intervals_csv(ctx.data),
        "violations.csv": tables.violations_csv(ctx.data),
        REPORT_DATA: ctx.data.canonical_body(),
    }
    meta = {"site": ctx.data.site, "lang": ctx.lang, "report_sha256": ctx.data.digest(),
            "generated_at": ctx.data.generated_at.isoformat()}
    return write_bundle(ctx.store, files, ctx.data.start, ctx.data.end, ctx.data.evidence_files, meta,
                        ctx.data.extra.get("site_filter"))


def build_report(store: Store, controls: Sequence[Control], start: datetime, end: datetime, fmt: str,
                 lang: str = "zh", *, site: str | None = None, tz: ZoneInfo | None = None,
                 now: datetime | None = None, public_url: str | None = None) -> bytes:
    """The report for [start, end) in `fmt` (pdf, html, oscal, csv, bundle) and `lang` (zh, en); a standalone
    report links evidence files at `public_url` (the collector as auditors reach it) when given."""
    if fmt not in FORMATS:
        raise ValueError(f"format: one of {', '.join(sorted(FORMATS))}")
    if lang not in ("zh", "en"):
        raise ValueError("lang: zh or en")
    data = gather(store, controls, start, end, site=site, now=now)
    return FORMATS[fmt](Context(store, data, lang, tz or ZoneInfo("Asia/Shanghai"), public_url))
