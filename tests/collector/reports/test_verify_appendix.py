"""The verification appendix: steps an auditor can follow offline, the full key fingerprint, the report
data hash recomputable with sha256sum, observation ids per control and a signature block."""
from __future__ import annotations

import hashlib
import io
import subprocess
import zipfile
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import serialization

from collector.i18n import translate
from collector.reports.build import build_report
from collector.reports.data import gather
from collector.reports.verify import verify_bundle

TZ = ZoneInfo("Asia/Shanghai")


def test_report_data_hash_is_the_sha256_of_a_bundle_member(site, tmp_path):
    data = gather(site.store, site.controls, site.start, site.end)
    path = tmp_path / "b.zip"
    path.write_bytes(build_report(site.store, site.controls, site.start, site.end, "bundle", now=data.generated_at))
    with zipfile.ZipFile(path) as z:
        body = z.read("report-data.json")
        html = z.read("report.html").decode()
    digest = hashlib.sha256(body).hexdigest()
    assert digest == data.digest() and digest in html  # what the footer and appendix print
    assert verify_bundle(path, site.store.site_key.public_pem()).ok
    # an edited report-data.json is named even if someone re-signs nothing else
    files = {}
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    files["report-data.json"] = body.replace(b'"pass"', b'"fail"', 1)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, d in files.items():
            z.writestr(n, d)
    (tmp_path / "x.zip").write_bytes(buf.getvalue())
    problems = verify_bundle(tmp_path / "x.zip", site.store.site_key.public_pem()).problems
    assert any(p.startswith("report-data.json") for p in problems)


def test_the_fingerprint_printed_is_what_openssl_computes(site, tmp_path):
    html = build_report(site.store, site.controls, site.start, site.end, "html", "en", tz=TZ).decode()
    pem = tmp_path / "site-public-key.pem"
    pem.write_bytes(site.store.site_key.public_pem())
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", str(pem), "-outform", "DER"], capture_output=True,
                         check=True).stdout
    fingerprint = hashlib.sha256(der[-32:]).hexdigest()
    raw = site.store.site_key.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert fingerprint == hashlib.sha256(raw).hexdigest()
    assert html.count(fingerprint) >= 2  # cover and appendix, in full
    for step in ("openssl pkey -pubin", "clausewatch verify BUNDLE.zip --pubkey", "report-data.json | sha256sum"):
        assert step in html
    assert "Asia/Shanghai" in html.split('id="appendix-verify"')[1]


def test_evidence_lists_observation_ids_and_attestations_have_a_signature_block(site):
    data = gather(site.store, site.controls, site.start, site.end)
    html = build_report(site.store, site.controls, site.start, site.end, "html", "zh", tz=TZ).decode()
    busy = next(r for r in data.results if len(r.evidence_ids) > 3)
    assert f"{', '.join(busy.evidence_ids[:3])} (+{len(busy.evidence_ids) - 3})" in html
    assert "管理层签字" in html and data.attestations[0]["snapshot_sha256"] in html
    assert "签字" in html.split("管理层签字")[1]


def test_the_report_carries_each_attestations_acknowledged_failures(site):
    data = gather(site.store, site.controls, site.start, site.end)
    html = build_report(site.store, site.controls, site.start, site.end, "html", "en", tz=TZ).decode()
    failures = data.attestations[0]["failures"]
    assert failures and "Failures of the period (acknowledged when signed)" in html
    shown = html.split("Failures of the period")[1]
    first = failures[0]
    kind = translate(first["subject_kind"], "en")  # the kind in the report's language, not its code
    assert f"{first['control']} · {kind} {first['subject']}" in shown
    assert ("acknowledged" if not first["waivers"] else f"waiver #{first['waivers'][0]}") in shown
