"""A report for one site of a two-site store holds nothing of the other site, in any format,
and its bundle still verifies (the other site's ledger entries withheld by hash)."""
from __future__ import annotations

import base64
import io
import re
import subprocess
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest

from collector.demo import SimSite
from collector.reports.build import build_report
from collector.reports.verify import verify_bundle
from rules.model import Observation
from tests.integration.conftest import cli

END = datetime(2026, 11, 20, tzinfo=UTC)
START = END - timedelta(days=3)
# A hyphen never occurs in base64, so the site names cannot appear by chance inside embedded images.
HERE, OTHER = "pudong-a1", "xiamen-q9"


@dataclass
class NamedSite(SimSite):
    """The simulated site with every subject id prefixed by the site's name, as two real sites'
    hosts, cameras and doors have names of their own."""

    def obs(self, t, subject_kind, subject_id, kind, payload, **kw):  # type: ignore[override]
        if subject_kind != "site" and not subject_id.startswith(self.site):
            subject_id = f"{self.site}-{subject_id}"
        return super().obs(t, subject_kind, subject_id, kind, payload, **kw)


def _fill(store, engine, controls, name: str) -> dict[str, str]:
    """History, an evidence upload, a waiver and a site attestation for one site; their marks."""
    from collector.demo.run import write_history
    from collector.people import attest, waivers
    from collector.people import evidence as ev

    write_history(store, engine, NamedSite(terminals=2, cameras=2, site=name, start=START - timedelta(hours=6)),
                  START + timedelta(days=1), step=timedelta(hours=3))
    at = START + timedelta(days=1, hours=1)
    obs = ev.add_evidence(store, controls, ev.Upload(
        "EXTINGUISHER-OFFICE", f"inspection {name}".encode(), f"{name}-巡检.pdf",
        ev.parse_valid_until("2026-12-10", ZoneInfo("Asia/Shanghai"))), actor="user:facility", site=name, now=at)
    engine.evaluate(engine.note([obs]), now=at)
    waivers.approve(store, controls, control="DOOR-CLOSED", subject_kind="door", subject_id=f"{name}-main-door",
                       reason=f"closer on order at {name}", ends_at=END + timedelta(days=5), approver="manager",
                       owner="facility", site=name, now=at)
    write_history(store, engine, NamedSite(terminals=2, cameras=2, site=name, start=at + timedelta(hours=1)), END,
                  step=timedelta(hours=3))
    attest.attest(store, controls, start=START, end=START + timedelta(days=1), statement=f"{name} 人工控制项已检查",
                  user="manager", site=name, now=at + timedelta(hours=2), acknowledge_failures=True)
    svg = f'<svg xmlns="http://www.w3.org/2000/svg"><text>{name} floor plan</text></svg>'.encode()
    ref = store.put_evidence(svg, "floorplan.svg", "image/svg+xml")
    store.ingest([Observation(source="camera", site=name, subject_kind="site", subject_id=name, kind="camera.floorplan",
                              observed_at=END - timedelta(hours=1), evidence=[ref],
                              payload={"coverage_pct": 90.0, "ok": True, "blind_spots": []})], actor="camera")
    return {"sha256": obs.payload["sha256"], "waiver": f"closer on order at {name}",
            "statement": f"{name} 人工控制项已检查"}


@pytest.fixture(scope="module")
def two_sites(tmp_path_factory):
    from collector.engine import Engine
    from collector.store.sqlite import SqliteStore
    from rules.catalog import default_catalog

    db = tmp_path_factory.mktemp("two") / "cw.db"
    store = SqliteStore(db)
    controls = list(default_catalog())
    engine = Engine(store, controls, site=HERE)
    marks = {name: _fill(store, engine, controls, name) for name in (HERE, OTHER)}
    store.ledger_append("report.generated", "cli", {"format": "pdf", "site": OTHER, "sha256": "0" * 64},
                        ts=END)
    store.ledger_append("login", "user:auditor", {"address": "127.0.0.1"}, ts=END)
    store.checkpoint()
    return db, store, controls, marks


def _texts(fmt: str, data: bytes, tmp: Path) -> dict[str, str]:
    """Every part of a report as text a reader would see (PDF through pdftotext, bundles member by member)."""
    if fmt == "pdf":
        (tmp / "r.pdf").write_bytes(data)
        return {"pdf": subprocess.run(["pdftotext", "-enc", "UTF-8", str(tmp / "r.pdf"), "-"], capture_output=True,
                                      text=True, check=True).stdout}
    if fmt == "html":
        text = data.decode("utf-8")
        # the charts are embedded as base64 data URIs: read them too (the floor plan keeps its text)
        pictures = [base64.b64decode(b).decode("utf-8", "replace")
                    for b in re.findall(r"base64,([A-Za-z0-9+/=]+)", text)]
        return {"html": text, "html (pictures)": "\n".join(pictures)}
    if fmt != "bundle":
        return {fmt: data.decode("utf-8-sig")}
    out: dict[str, str] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            member = z.read(name)
            if name.endswith(".pdf"):
                out |= {name: _texts("pdf", member, tmp)["pdf"]}
            elif name.endswith(".html"):
                out |= {f"{name} {k}": v for k, v in _texts("html", member, tmp).items()}
            else:
                out[name] = member.decode("utf-8", errors="replace")
            out[f"{name} (name)"] = name
    return out


def _squash(text: str) -> str:
    return re.sub(r"[\s-]+", "", text)


@pytest.mark.parametrize("fmt", ["pdf", "html", "oscal", "csv", "bundle"])
def test_a_sites_report_holds_nothing_of_the_other_site(two_sites, fmt, tmp_path):
    _, store, controls, marks = two_sites
    texts = _texts(fmt, build_report(store, controls, START, END, fmt, "en", site=HERE), tmp_path)
    # PDF text breaks lines inside table cells, dropping a hyphen it breaks at: compare without either
    texts = {name: _squash(text) for name, text in texts.items()}
    whole = "\n".join(texts.values())
    for needle in (OTHER, marks[OTHER]["sha256"], marks[OTHER]["waiver"], marks[OTHER]["statement"]):
        leaks = [name for name, text in texts.items() if _squash(needle) in text]
        assert not leaks, f"{needle!r} of the other site in {leaks}"
    assert _squash(HERE) in whole
    if fmt in ("html", "csv", "bundle"):
        assert _squash(f"{HERE}-T001") in whole  # the site's own subjects are there
    if fmt in ("html", "bundle"):
        assert _squash(f"{HERE}floorplan") in whole
    if fmt in ("pdf", "html", "bundle"):
        assert all(_squash(marks[HERE][k]) in whole for k in ("waiver", "statement"))
    if fmt in ("html", "oscal", "bundle"):
        assert marks[HERE]["sha256"] in whole


@pytest.mark.parametrize(("kind", "fields"), [
    pytest.param("climate.reading", ("temperature_c",), id="climate-chart"),
    pytest.param("ups.status", ("battery_runtime_s",), id="ups-chart"),
    pytest.param("camera.retention", ("days",), id="retention-chart"),
    pytest.param("zone.coverage", ("fraction",), id="coverage-chart"),
])
def test_a_sites_charts_read_only_its_own_subjects(two_sites, kind, fields):
    from collector.reports.charts import series

    _, store, _, _ = two_sites
    mine = series(store, kind, START, END, fields, HERE)
    assert mine and all(subject.startswith(HERE) for subject in mine)
    assert any(subject.startswith(OTHER) for subject in series(store, kind, START, END, fields))


def test_the_whole_store_report_holds_both_sites(two_sites, tmp_path):
    _, store, controls, marks = two_sites
    html = build_report(store, controls, START, END, "html", "en").decode()
    assert OTHER in html and HERE in html and marks[OTHER]["statement"] in html
    assert "entries about other sites keep only" not in html
    one = build_report(store, controls, START, END, "html", "en", site=HERE).decode()
    assert "entries about other sites keep only their sequence number and hash" in one


def test_a_sites_bundle_verifies_with_the_other_sites_entries_withheld(two_sites, tmp_path):
    db, store, controls, _ = two_sites
    path = tmp_path / "b.zip"
    path.write_bytes(build_report(store, controls, START, END, "bundle", site=HERE))
    rep = verify_bundle(path, store.site_key.public_pem())
    assert rep.ok, rep.problems
    assert rep.ledger_withheld > 0 and rep.ledger_entries > rep.ledger_withheld
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    lines = [orjson.loads(x) for x in files["ledger/entries.jsonl"].splitlines()]
    visible = next(i for i, e in enumerate(lines) if "body" in e and i > 0 and "withheld" in lines[i - 1])
    lines[visible]["body"] = lines[visible]["body"].replace('"ts"', '"ts" ', 1)  # entry after a withheld one
    files["ledger/entries.jsonl"] = b"\n".join(orjson.dumps(e) for e in lines)
    _rezip(files, path)
    altered = verify_bundle(path, store.site_key.public_pem())
    assert f"ledger entry {lines[visible]['seq']}: altered: its content does not match its hash" in altered.problems
    pem = tmp_path / "site.pem"
    pem.write_bytes(store.site_key.public_pem())
    out = tmp_path / "cli.zip"
    r = cli("report", "--from", "2026-11-17", "--to", "2026-11-19", "--site", HERE, "--db", str(db), "--format",
            "bundle", "-o", str(out))
    assert r.returncode in (0, 1), r.stderr
    ok = cli("verify", str(out), "--pubkey", str(pem))
    assert ok.returncode == 0 and ok.stdout.startswith("OK") and "of other sites withheld" in ok.stdout, ok.stdout


def test_a_whole_store_bundle_may_not_withhold_entries(two_sites, tmp_path):
    _, store, controls, _ = two_sites
    path = tmp_path / "b.zip"
    path.write_bytes(build_report(store, controls, START, END, "bundle"))
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    lines = [orjson.loads(x) for x in files["ledger/entries.jsonl"].splitlines()]
    assert not any("withheld" in e for e in lines)
    hidden = lines[3]
    lines[3] = {"seq": hidden["seq"], "hash": hidden["hash"], "withheld": "other site"}
    files["ledger/entries.jsonl"] = b"\n".join(orjson.dumps(e) for e in lines)
    _rezip(files, path)
    problems = verify_bundle(path, store.site_key.public_pem()).problems
    assert f"ledger entry {hidden['seq']}: withheld, but the bundle is for the whole store" in problems


def _rezip(files: dict[str, bytes], path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, d in files.items():
            z.writestr(n, d)
    path.write_bytes(buf.getvalue())
