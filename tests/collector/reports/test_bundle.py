"""Bundles verify offline, and any altered byte or ledger entry is named."""
from __future__ import annotations

import io
import zipfile

import orjson
import pytest

from collector.reports.build import build_report
from collector.reports.verify import verify_bundle


@pytest.fixture(scope="module")
def bundle(site, tmp_path_factory):
    path = tmp_path_factory.mktemp("bundle") / "b.zip"
    path.write_bytes(build_report(site.store, site.controls, site.start, site.end, "bundle"))
    return path


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _rezip(files: dict[str, bytes], path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, d in files.items():
            z.writestr(n, d)
    path.write_bytes(buf.getvalue())


def test_bundle_holds_everything_and_verifies(site, bundle):
    files = _members(bundle)
    for name in ("report.pdf", "report.html", "assessment-results.json", "intervals.csv", "violations.csv",
                 "ledger/entries.jsonl", "ledger/segment.json", "site-public-key.pem", "manifest.json",
                 "manifest.sig", f"evidence/{site.evidence_sha}"):
        assert name in files, name
    rep = verify_bundle(bundle, site.store.site_key.public_pem())
    assert rep.ok, rep.problems
    assert rep.ledger_entries > 10 and rep.checkpoints >= 1 and rep.key_source == "given"


@pytest.mark.parametrize("name", ["report.pdf", "report.html", "assessment-results.json", "intervals.csv",
                                  "violations.csv", "ledger/segment.json", "evidence/"])
def test_one_changed_byte_in_any_file_is_named(site, bundle, tmp_path, name):
    files = _members(bundle)
    target = next(n for n in files if n.startswith(name))
    data = bytearray(files[target])
    data[len(data) // 2] ^= 0x01
    files[target] = bytes(data)
    out = tmp_path / "t.zip"
    _rezip(files, out)
    rep = verify_bundle(out, site.store.site_key.public_pem())
    assert not rep.ok and any(p.startswith(f"{target}: altered") for p in rep.problems), rep.problems


@pytest.mark.parametrize("pubkey", [True, False], ids=["with-pubkey", "bundled-key"])
def test_every_file_of_the_bundle_is_protected(site, bundle, tmp_path, pubkey):
    files = _members(bundle)
    for target in files:
        changed = dict(files)
        data = bytearray(changed[target])
        data[len(data) // 3] ^= 0x04
        changed[target] = bytes(data)
        out = tmp_path / "t.zip"
        _rezip(changed, out)
        rep = verify_bundle(out, site.store.site_key.public_pem() if pubkey else None)
        assert not rep.ok, target
        assert any(target in p for p in rep.problems), (target, rep.problems)


def test_one_changed_ledger_entry_is_named(site, bundle, tmp_path):
    files = _members(bundle)
    lines = files["ledger/entries.jsonl"].splitlines()
    k = len(lines) // 2
    entry = orjson.loads(lines[k])
    entry["body"] = entry["body"].replace('"actor":"', '"actor":"x', 1)
    lines[k] = orjson.dumps(entry)
    files["ledger/entries.jsonl"] = b"\n".join(lines) + b"\n"
    out = tmp_path / "t.zip"
    _rezip(files, out)
    rep = verify_bundle(out, site.store.site_key.public_pem())
    assert f"ledger entry {entry['seq']}: altered: its content does not match its hash" in rep.problems
    assert any(p.startswith("ledger/entries.jsonl: altered") for p in rep.problems)


def test_rewritten_manifest_fails_its_signature(site, bundle, tmp_path):
    files = _members(bundle)
    manifest = orjson.loads(files["manifest.json"])
    files["report.pdf"] = b"%PDF-1.7 forged"
    import hashlib

    manifest["files"]["report.pdf"] = hashlib.sha256(files["report.pdf"]).hexdigest()
    files["manifest.json"] = orjson.dumps(manifest)
    out = tmp_path / "t.zip"
    _rezip(files, out)
    assert "manifest.sig: the signature of manifest.json does not verify with the site key" in verify_bundle(
        out, site.store.site_key.public_pem()).problems


def test_a_byte_flipped_inside_the_zip_is_named(site, bundle, tmp_path):
    raw = bytearray(bundle.read_bytes())
    with zipfile.ZipFile(bundle) as z:
        info = z.getinfo("report.pdf")
    raw[info.header_offset + 30 + len(info.filename) + 100] ^= 0xFF
    out = tmp_path / "t.zip"
    out.write_bytes(bytes(raw))
    rep = verify_bundle(out)
    assert not rep.ok and any(p.startswith("report.pdf:") for p in rep.problems), rep.problems


def test_another_sites_key_is_refused(site, bundle, tmp_path):
    from collector.proof.sitekey import SiteKey

    other = SiteKey.load_or_create(tmp_path / "other.pem").public_pem()
    problems = verify_bundle(bundle, other).problems
    assert "site-public-key.pem: differs from the key given with --pubkey" in problems
    assert "manifest.sig: the signature of manifest.json does not verify with the site key" in problems


def test_added_file_is_named(site, bundle, tmp_path):
    files = _members(bundle)
    files["evidence/extra.txt"] = b"slipped in"
    out = tmp_path / "t.zip"
    _rezip(files, out)
    assert "evidence/extra.txt: not listed in the manifest (added)" in verify_bundle(
        out, site.store.site_key.public_pem()).problems


def test_damaged_zips_are_reported_never_crash(site, bundle, tmp_path):
    raw = bundle.read_bytes()
    out = tmp_path / "t.zip"
    for pos in range(0, len(raw), max(1, len(raw) // 60)):
        damaged = bytearray(raw)
        damaged[pos] ^= 0xFF
        out.write_bytes(bytes(damaged))
        rep = verify_bundle(out, site.store.site_key.public_pem())
        # zip bookkeeping bytes (times, attributes) may change without changing any file
        assert rep.ok or rep.problems
    out.write_bytes(raw[: len(raw) // 2])
    assert not verify_bundle(out).ok


def test_manifest_is_signed_in_its_rfc8785_form(site, bundle, tmp_path):
    """The signed manifest bytes are RFC 8785: re-signed in another form, the bundle is named as such."""
    from collector.proof.canonical import canonical, legacy_canonical
    from collector.reports.bundle import SIGNING_CONTEXT

    files = _members(bundle)
    manifest = orjson.loads(files["manifest.json"])
    assert manifest["format"] == "clausewatch-bundle/2"
    assert files["manifest.json"] == canonical(manifest)
    manifest["period"]["utc_offset_s"] = 0.0  # a float: orjson writes 0.0, RFC 8785 writes 0
    files["manifest.json"] = legacy_canonical(manifest)
    files["manifest.sig"] = site.store.site_key.sign(SIGNING_CONTEXT + files["manifest.json"]).hex().encode()
    out = tmp_path / "t.zip"
    _rezip(files, out)
    assert verify_bundle(out, site.store.site_key.public_pem()).problems == [
        "manifest.json: not in RFC 8785 canonical form"]
