"""Evidence links that work where the report is read: inside a bundle its own members, standalone the
collector's public URL or, without one, the file's SHA-256; never a path of the machine that wrote it."""
from __future__ import annotations

import io
import json
import re
import zipfile
from zoneinfo import ZoneInfo

from pypdf import PdfReader

from collector.reports import oscal
from collector.reports.build import build_report
from tests.conftest import ROOT

TZ = ZoneInfo("Asia/Shanghai")
PUBLIC = "https://clausewatch.example.org"


def _report(site, fmt: str, public_url: str | None = None) -> bytes:
    return build_report(site.store, site.controls, site.start, site.end, fmt, "en", tz=TZ, public_url=public_url)


def pdf_links(pdf: bytes) -> list[str]:
    links = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A")
            if action is not None and "/URI" in action:
                links.append(str(action["/URI"]))
    return links


def html_links(html: bytes) -> list[str]:
    return [h for h in re.findall(r'href="([^"#][^"]*)"', html.decode())]


def test_bundle_links_its_own_members_in_every_format(site):
    with zipfile.ZipFile(io.BytesIO(_report(site, "bundle", PUBLIC))) as z:
        members = set(z.namelist())
        html, pdf = z.read("report.html"), z.read("report.pdf")
        doc = json.loads(z.read("assessment-results.json"))
    want = f"evidence/{site.evidence_sha}"
    assert want in members
    assert want in html_links(html) and set(html_links(html)) <= members
    assert want in pdf_links(pdf) and set(pdf_links(pdf)) <= members  # relative: works once unzipped
    hrefs = {e.get("href") for o in doc["assessment-results"]["results"][0]["observations"]
             for e in o.get("relevant-evidence", [])}
    assert want in hrefs and hrefs <= members
    assert str(ROOT).encode() not in pdf and b"file://" not in pdf


def test_standalone_links_the_public_url(site):
    want = f"{PUBLIC}/api/v1/evidence/{site.evidence_sha}"
    assert want in html_links(_report(site, "html", PUBLIC))
    links = pdf_links(_report(site, "pdf", PUBLIC))
    assert want in links and all(u.startswith(f"{PUBLIC}/api/v1/evidence/") for u in links)


def test_standalone_without_public_url_names_the_sha256(site):
    html = _report(site, "html")
    assert html_links(html) == [] and f"SHA-256 {site.evidence_sha}".encode() in html
    pdf = _report(site, "pdf")
    assert pdf_links(pdf) == []  # was file:///api/v1/evidence/<sha>
    doc = json.loads(_report(site, "oscal"))
    assert oscal.validate(doc) == []
    evidence = [e for o in doc["assessment-results"]["results"][0]["observations"]
                for e in o.get("relevant-evidence", [])]
    assert evidence and all("href" not in e and re.search(r"sha256 [0-9a-f]{64}", e["description"]) for e in evidence)
