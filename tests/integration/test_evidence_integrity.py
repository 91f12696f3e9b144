"""An evidence file whose bytes change on disk is named by `ledger verify` and never served."""
from __future__ import annotations

import json

import httpx

from collector.store.sqlite import SqliteStore

from .conftest import cli


def _flip_first_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[0] ^= 0x01
    path.write_bytes(bytes(data))


def test_flipped_byte_is_named_by_verify_and_refused_by_the_api_and_the_web(collector):
    store = SqliteStore(collector.db)  # a second writer on the service's file, as a CLI import would be
    try:
        scan = store.put_evidence(b"%PDF-1.4 inspection report, signed", "inspection.pdf", "application/pdf")
        photo = store.put_evidence(b"\x89PNG camera thumbnail", "cam-03.png", "image/png")
        intact = store.put_evidence(b"floor plan v2", "plan.svg", "image/svg+xml")
        paths = {ref.sha256: store.evidence_dir / ref.sha256[:2] / ref.sha256 for ref in (scan, photo)}
    finally:
        store.close()
    assert cli("ledger", "verify", "--db", str(collector.db)).returncode == 0
    for path in paths.values():
        _flip_first_byte(path)

    done = cli("ledger", "verify", "--db", str(collector.db), "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["evidence_checked"] == 3
    named = [p["detail"] for p in report["problems"] if p["what"] == "evidence"]
    assert len(named) == 2
    for path in paths.values():
        assert any(d.startswith(f"{path}: altered") for d in named), named

    collector.login("auditor")
    with collector.client("auditor") as api:
        for sha in paths:
            r = api.get(f"/api/v1/evidence/{sha}")
            assert r.status_code == 409, r.text
            assert "no longer matches" in r.json()["detail"] and r.content != b""
        assert api.get(f"/api/v1/evidence/{intact.sha256}").content == b"floor plan v2"
    web = httpx.Client(base_url=collector.url, cookies={"cw_session": collector.tokens["auditor"]})
    with web:
        r = web.get(f"/evidence-files/{scan.sha256}")
        assert r.status_code == 409 and b"inspection report" not in r.content

    store = SqliteStore(collector.db)
    try:
        noted = [json.loads(b) for (b,) in store.read.execute("SELECT body FROM ledger")]
    finally:
        store.close()
    altered = [e["data"]["sha256"] for e in noted if e["type"] == "evidence.altered"]
    assert sorted(set(altered)) == sorted(paths)  # noted in the ledger, once per file
    assert len(altered) == 2
