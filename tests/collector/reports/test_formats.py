"""Every format from the same data: PDF with real Chinese glyphs, HTML, OSCAL against NIST's
schema, CSV rows per interval and per violation."""
from __future__ import annotations

import csv
import io
import json
import subprocess
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from collector.reports import oscal
from collector.reports.build import build_report
from collector.reports.data import gather
from tests.collector.reports.conftest import ID_CARD

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def data(site):
    return gather(site.store, site.controls, site.start, site.end)


def _pdf(site, lang: str, folder) -> tuple[str, str]:
    """(text in reading order, pdffonts listing) of the rendered report."""
    path = folder / f"r-{lang}.pdf"
    path.write_bytes(build_report(site.store, site.controls, site.start, site.end, "pdf", lang, tz=TZ))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return text, fonts


@pytest.fixture(scope="module")
def pdf_zh(site, tmp_path_factory):
    return _pdf(site, "zh", tmp_path_factory.mktemp("pdf"))


@pytest.fixture(scope="module")
def pdf_en(site, tmp_path_factory):
    return _pdf(site, "en", tmp_path_factory.mktemp("pdf"))


def test_pdf_renders_the_chinese_clause_text_with_an_embedded_font(site, pdf_zh):
    text = "".join(pdf_zh[0].split())
    for c in site.controls[:3] + [c for c in site.controls if c.id == "EXTINGUISHER-OFFICE"]:
        assert "".join(c.text_zh.split())[:20] in text, c.id
    assert "执行摘要" in text and "目录" in text
    fonts = pdf_zh[1]
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk and all(" yes yes " in line for line in cjk)  # embedded and subset


def test_english_pdf_and_masked_identifiers(site, pdf_en):
    text = " ".join(pdf_en[0].split())
    assert "Executive summary" in text and "Results per clause" in text
    assert "Gas extinguishers on the" in text and "Time compliant" in text
    html = build_report(site.store, site.controls, site.start, site.end, "html", "zh", tz=TZ).decode()
    assert ID_CARD not in html and "1101**********1233" in html


def test_a_report_and_a_pii_scan_print_an_id_card_the_same_way(site, tmp_path):
    from agents.pii.scan import scan_paths
    from agents.pii_watch import scan_record

    html = build_report(site.store, site.controls, site.start, site.end, "html", "en", tz=TZ).decode()
    found = tmp_path / f"身份证{ID_CARD}复印件.csv"  # the uploaded evidence's name, left on a terminal
    found.write_text(f"name,id\n张三,{ID_CARD}\n", encoding="utf-8")
    report = scan_paths([tmp_path], None)
    [hit] = scan_record(report, "T001", [tmp_path], full=True).payload["hits"]
    assert hit["samples"] == ["1101**********1233"]
    assert hit["path"].endswith("身份证1101**********1233复印件.csv") and ID_CARD not in hit["path"]
    assert "身份证1101**********1233复印件" in html


def test_report_carries_its_hash_on_every_page_and_page_numbers(pdf_zh):
    import re

    text = pdf_zh[0]
    pages = text.count("\f")
    from collections import Counter

    (report_hash, n), = Counter(re.findall(r"\b[0-9a-f]{64}\b", text)).most_common(1)
    assert "报告数据哈希" in text and n >= pages - 1  # cover, then the footer of every page
    assert f"3 / {pages}" in text  # page numbers in the footer


def test_oscal_validates_against_the_official_schema(site, data):
    doc = json.loads(build_report(site.store, site.controls, site.start, site.end, "oscal", tz=TZ))
    assert oscal.validate(doc) == []
    findings = doc["assessment-results"]["results"][0]["findings"]
    assert len(findings) == len(site.controls)
    ext = next(f for f in findings if f["target"]["target-id"] == "extinguisher-office")
    obs = next(o for o in doc["assessment-results"]["results"][0]["observations"]
               if o["uuid"] == ext["related-observations"][0]["observation-uuid"])
    assert any(site.evidence_sha in e["description"] for e in obs["relevant-evidence"])  # named by its hash


def test_schema_check_is_not_a_rubber_stamp(data):
    doc = oscal.build(data)
    doc["assessment-results"]["results"][0]["findings"][0]["target"]["status"]["state"] = "fine"
    del doc["assessment-results"]["metadata"]["oscal-version"]
    problems = oscal.validate(doc)
    assert any("state" in p or "fine" in p for p in problems) and any("oscal-version" in p for p in problems)


def test_csv_has_a_row_per_interval_and_per_violation(site, data):
    raw = build_report(site.store, site.controls, site.start, site.end, "csv", tz=TZ).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(raw)))
    intervals = [r for r in rows if r["record"] == "interval"]
    viols = [r for r in rows if r["record"] == "violation"]
    assert len(intervals) == sum(len(r.pieces) for r in data.results)
    assert len(viols) == sum(len(r.violations) for r in data.results) > 0
    assert all(v["status"] == "fail" and float(v["duration_s"]) > 0 for v in viols)
    # main-door's waiver began 2 days and 1 hour into the period: violations from then on are excepted
    waived_from = site.start + timedelta(days=2, hours=1)
    waived = [v for v in viols if v["control"] == "DOOR-CLOSED" and v["subject"] == "main-door"
              and datetime.fromisoformat(v["start"]) >= waived_from]
    assert all(v["excepted"] == "yes" for v in waived)


def test_per_clause_numbers(data):
    by_id = {r.control.id: r for r in data.results}
    ext = by_id["EXTINGUISHER-OFFICE"]
    assert ext.status_end == "pass" and [e["sha256"] for e in ext.evidence_files]
    assert all(0.0 <= r.pct_compliant <= 100.0 for r in data.results)
    order = [c["id"] for c in data.clauses]
    assert order[0] == "T12.1-a" and order.index("T12.2-e") < order.index("A-1")


@pytest.mark.parametrize("fmt", ["docx", ""])
def test_unknown_format_is_refused(site, fmt):
    with pytest.raises(ValueError, match="format"):
        build_report(site.store, site.controls, site.start, site.end, fmt)


def test_charts_from_the_sites_telemetry(site, data):
    from collector.reports.charts import all_charts

    charts = all_charts(site.store, data.results, site.start, site.end, "zh")
    plan = charts.pop("floorplan")  # the simulated cameras send their floor plan, as the worker does
    assert set(charts) == {"posture", "climate", "ups", "retention", "coverage"}
    assert all(svg.lstrip().startswith("<?xml") and "<svg" in svg for svg in charts.values())
    assert plan.startswith("<svg") and 'class="zone"' in plan


def test_the_camera_workers_floor_plan_is_drawn_in_the_report(tmp_path):
    from collector.reports.charts import all_charts
    from collector.store.sqlite import SqliteStore
    from rules.model import Observation

    store = SqliteStore(tmp_path / "plan.db")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><rect data-zone="machine-room" fill="#f0746e"/></svg>'
    ref = store.put_evidence(svg, "floorplan.svg", "image/svg+xml")
    end = datetime(2026, 11, 20, tzinfo=UTC)
    store.ingest([Observation(source="camera-worker", subject_kind="site", subject_id="default",
                              kind="camera.floorplan", observed_at=end - timedelta(hours=1),
                              payload={"coverage_pct": 50.0, "blind_spots": ["machine-room"]}, evidence=[ref])],
                 actor="test")
    charts = all_charts(store, [], end - timedelta(days=1), end, "en")
    assert 'data-zone="machine-room"' in charts["floorplan"]
    assert "floorplan" not in all_charts(store, [], end - timedelta(days=3), end - timedelta(days=2), "en")
