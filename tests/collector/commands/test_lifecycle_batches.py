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
from collector.cli import build_app
from collector.engine import Engine
from collector.store.sqlite import SqliteStore
from rules.catalog import default_catalog

runner = CliRunner()
ID, PHONE = "11010519491231002X", "13800138000"


def cli(*args: str) -> tuple[int, dict]:
    r = runner.invoke(build_app(), [*args, "--json"])
    return r.exit_code, (json.loads(r.stdout) if r.stdout.strip() else {"stderr": r.output})


def dispatch_xlsx(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["批次号", "委托方", "委案日期", "退案日期", "姓名", "身份证号", "手机号"])
    ws.append(["B2026-11", "广州银行", "2026-10-01", "2026-11-20", "张三", ID, int(PHONE)])
    ws.append(["B2026-11", "广州银行", "2026-10-01", "2026-11-20", "李四", "", 13900139000])
    wb.save(path)
    return path


def test_register_then_certify_after_clean_scans(tmp_path: Path) -> None:
    db = tmp_path / "cw.db"
    code, reg = cli("batch", "register", str(dispatch_xlsx(tmp_path / "d.xlsx")), "--db", str(db),
                    "--now", "2026-10-02T09:00")
    assert code == 0, reg
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
    for bid, end in (("B1", "2026-10-31"), ("B2", "2026-12-31")):
        f = tmp_path / f"{bid}.csv"
        f.write_text(f"batch,bank,dispatch_date,end_date,phone\n{bid},银行,2026-09-01,{end},{PHONE}\n")
        assert cli("batch", "register", str(f), "--db", str(db), "--now", "2026-09-01T10:00")[0] == 0
    code, out = cli("audit", "purge", "--db", str(db), "--now", "2026-11-29T10:00")
    assert code == 1  # B1's deadline passed and no host has proven the purge
    assert [(b["batch"], b["status"]) for b in out["batches"]] == [("B1", "unproven"), ("B2", "in_commission")]
