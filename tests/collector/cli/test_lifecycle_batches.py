"""`batch register` and `batch certificate` over a real store; manifests match `scan pii`."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from agents.pii.manifest import load_manifests
from agents.pii.scan import scan_paths
from agents.pii_watch import scan_observation
from collector.cli.main import build_app
from collector.engine import Engine
from collector.store.sqlite import SqliteStore
from rules.catalog import default_catalog
from tests.agents.pii.containers import encrypted_zip, raw_name_zip, scanned_pdf

runner = CliRunner()
ID, PHONE = "11010519491231002X", "13800138000"


def cli(*args: str) -> tuple[int, dict]:
    r = runner.invoke(build_app(), [*args, "--json"])
    return r.exit_code, (json.loads(r.stdout) if r.stdout.strip() else {"stderr": r.output})


def registered_dispatch(tmp_path: Path) -> tuple[Path, dict]:
    """A new store with the dispatch workbook's batch registered in it, and what `batch register` said."""
    db = tmp_path / "cw.db"
    SqliteStore(db).close()  # batches are registered in the site's store
    code, reg = cli("batch", "register", str(dispatch_xlsx(tmp_path / "d.xlsx")), "--db", str(db),
                    "--now", "2026-10-02T09:00")
    assert code == 0, reg
    return db, reg


def dispatch_xlsx(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["批次号", "委托方", "委案日期", "退案日期", "姓名", "身份证号", "手机号"])
    ws.append(["B2026-11", "广州银行", "2026-10-01", "2026-11-20", "张三", ID, int(PHONE)])
    ws.append(["B2026-11", "广州银行", "2026-10-01", "2026-11-20", "李四", "", 13900139000])
    wb.save(path)
    return path


def test_register_then_certify_after_clean_scans(tmp_path: Path) -> None:
    db, reg = registered_dispatch(tmp_path)
    assert reg["rows"] == 2 and reg["identifiers"] == 3 and reg["deadline"] == "2026-11-21T00:00:00+08:00"
    manifest_text = Path(reg["manifest"]).read_text()
    assert ID not in manifest_text and PHONE not in manifest_text
    # a host still holding the data, found through the manifest
    data = tmp_path / "host"
    data.mkdir()
    (data / "old.csv").write_text(f"{ID}\n")
    manifest = load_manifests([Path(reg["manifest"])])
    after = datetime.fromisoformat("2026-11-22T09:00:00+08:00")
    dirty = scan_observation(scan_paths([data], manifest, clock=lambda: after), "t-01", [data], full=True)
    assert dirty.payload["batches"] == {"B2026-11": 1}
    store = SqliteStore(db)
    engine = Engine(store, list(default_catalog()))
    store.ingest([dirty], actor="test")
    engine.evaluate(engine.note([dirty]), now=after)
    store.close()
    code, cert = cli("batch", "certificate", "B2026-11", "--db", str(db), "--now", "2026-11-22T10:00")
    assert code == 1 and cert["status"] == "not_purged" and cert["finding"]["status"] == "fail"
    (data / "old.csv").unlink()
    later = after + timedelta(hours=2)
    clean = scan_observation(scan_paths([data], manifest, clock=lambda: later), "t-01", [data], full=True)
    store = SqliteStore(db)
    store.ingest([clean], actor="test")
    store.close()
    code, cert = cli("batch", "certificate", "B2026-11", "--db", str(db), "--now", "2026-11-22T12:00")
    assert code == 0 and cert["status"] == "purged"
    assert cert["hosts"][0]["scan"]["matches"] == 0 and cert["ledger"]["seq"] > 0
    store = SqliteStore(db)
    (_, _, body), = store.ledger_entries(cert["ledger"]["seq"], cert["ledger"]["seq"])
    store.close()
    assert datetime.fromisoformat(json.loads(body)["ts"]) == datetime.fromisoformat("2026-11-22T12:00+08:00")


def test_register_without_end_date_names_the_option(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text(f"姓名,身份证号\n张三,{ID}\n")
    r = runner.invoke(build_app(), ["batch", "register", str(f), "--db", str(tmp_path / "cw.db"), "--json"])
    assert r.exit_code == 2 and "--id" in r.output and r.stdout == ""


def test_register_rejects_a_bad_date_naming_the_line(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text(f"批次号,委托方,委案日期,退案日期,身份证号\nB1,银行,2026-10-01,2026-13-45,{ID}\n".encode("gbk")
                 .decode("gbk"), encoding="gbk")
    r = runner.invoke(build_app(), ["batch", "register", str(f), "--db", str(tmp_path / "cw.db"), "--json"])
    assert r.exit_code == 2 and "line 2" in r.output


def test_scan_matches_batches_through_the_store_or_the_manifest_folder(tmp_path: Path) -> None:
    db = tmp_path / "cw.db"
    SqliteStore(db).close()  # batches are registered in the site's store
    f = tmp_path / "dispatch.csv"
    f.write_text(f"batch_id,bank,dispatch_date,end_date,name,id_number,phone\n"
                 f"B7,Bank of Test,2026/10/01,2026/11/20,Zhang,{ID},{PHONE}\n", encoding="utf-8")
    code, reg = cli("batch", "register", str(f), "--db", str(db), "--salt", "not hex at all", "--grace-days", "2")
    assert code == 0 and reg["batch"] == "B7" and reg["deadline"] == "2026-11-23T00:00:00+08:00"
    host = tmp_path / "host"
    host.mkdir()
    (host / "left.txt").write_text(f"phone {PHONE}\n")
    for manifest in (db, Path(reg["manifest"]).parent):
        code, out = cli("scan", "pii", str(host), "--manifest", str(manifest))
        assert code == 1 and out["files"][0]["batches"] == ["B7"], manifest


def test_audit_purge_lists_every_batch(tmp_path: Path) -> None:
    db = tmp_path / "cw.db"
    SqliteStore(db).close()  # batches are registered in the site's store
    for bid, end in (("B1", "2026-10-31"), ("B2", "2026-12-31")):
        f = tmp_path / f"{bid}.csv"
        f.write_text(f"batch,bank,dispatch_date,end_date,phone\n{bid},银行,2026-09-01,{end},{PHONE}\n")
        assert cli("batch", "register", str(f), "--db", str(db), "--now", "2026-09-01T10:00")[0] == 0
    code, out = cli("audit", "purge", "--db", str(db), "--now", "2026-11-29T10:00")
    assert code == 1  # B1's deadline passed and no host has proven the purge
    assert [(b["batch"], b["status"]) for b in out["batches"]] == [("B1", "unproven"), ("B2", "in_commission")]


def test_a_batch_reported_with_an_integer_rfc8785_cannot_hash_is_refused_naming_it(tmp_path: Path) -> None:
    """The certificate is hashed in RFC 8785 form; a forged row count beyond 2**53 is an error, not a crash."""
    from rules.model import Observation

    db = tmp_path / "cw.db"
    store = SqliteStore(db)
    store.ingest([Observation(source="import:batch", subject_kind="batch", subject_id="B-FORGED",
                              kind="batch.registered", observed_at=datetime.fromisoformat("2026-10-02T09:00+08:00"),
                              payload={"rows": 2**60, "deadline": "2026-11-21T00:00:00+08:00", "bank": "x"})],
                 actor="test")
    store.close()
    r = runner.invoke(build_app(), ["batch", "certificate", "B-FORGED", "--db", str(db), "--now", "2026-11-22T10:00"])
    assert r.exit_code == 2 and "batch B-FORGED: its certificate cannot be hashed" in r.output
    r = runner.invoke(build_app(), ["audit", "purge", "--db", str(db), "--now", "2026-11-22T10:00"])
    assert r.exit_code == 2 and "batch B-FORGED" in r.output


def test_files_a_scan_could_not_read_leave_the_purge_not_proven(tmp_path: Path) -> None:
    db, reg = registered_dispatch(tmp_path)
    host = tmp_path / "host"
    host.mkdir()
    (host / "locked.zip").write_bytes(encrypted_zip("名单.csv", f"{ID}\n".encode(), b"123456"))
    # a Chinese-Windows archive (GB18030 names, no UTF-8 flag) holding a "workbook" that is a renamed text file
    (host / "outbox.zip").write_bytes(raw_name_zip({"客户清单.xlsx".encode("gb18030"): b"not a workbook\n"}))
    (host / "scan.pdf").write_bytes(scanned_pdf())
    manifest = load_manifests([Path(reg["manifest"])])
    after = datetime.fromisoformat("2026-11-22T09:00:00+08:00")
    report = scan_paths([host], manifest, clock=lambda: after)
    assert not report.found  # nothing read holds the batch ...
    store = SqliteStore(db)
    engine = Engine(store, list(default_catalog()))
    obs = scan_observation(report, "t-01", [host], full=True)
    store.ingest([obs], actor="test")
    engine.evaluate(engine.note([obs]), now=after)
    store.close()
    code, cert = cli("batch", "certificate", "B2026-11", "--db", str(db), "--now", "2026-11-22T10:00")
    assert code == 1 and cert["status"] == "unproven"  # ... but what could not be read proves nothing
    assert cert["counts"] == {"clean": 0, "dirty": 0, "unscanned": 0, "not_proven": 1}
    assert cert["finding"]["status"] == "unknown" and "not proven" in cert["finding"]["reason"]["en"]
    assert "未能证明" in cert["finding"]["reason"]["zh"]
    assert cert["hosts"][0]["not_proven"] == [
        {"path": f"{host}/locked.zip!名单.csv", "reason": "encrypted: password-protected archive member"},
        {"path": f"{host}/outbox.zip!客户清单.xlsx", "reason": "corrupt: not a .xlsx file"},
        {"path": f"{host}/scan.pdf", "reason": "scanned image: not read (page 1 of 1 without text)"}]
    r = runner.invoke(build_app(), ["batch", "certificate", "B2026-11", "--db", str(db), "--now", "2026-11-22T10:00"])
    assert f"not proven: {host}/outbox.zip!客户清单.xlsx: corrupt: not a .xlsx file" in r.stdout
    code, out = cli("audit", "purge", "--db", str(db), "--now", "2026-11-22T10:00")
    assert code == 1 and out["counts"]["unproven"] == 1
