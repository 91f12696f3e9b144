"""`clausewatch scan pii`: JSON contract, exit codes, masking, manifests, unreadable files."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents.pii.manifest import batch_document
from collector.cli.main import build_app
from tests.agents.pii.conftest import ROW, documents_fixture  # noqa: F401  (fixture)

runner = CliRunner()


def scan(*args: str) -> tuple[int, dict]:
    result = runner.invoke(build_app(), ["scan", "pii", *args, "--json"])
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}


def test_documents_are_scanned_and_reported_masked(documents: Path) -> None:
    code, out = scan(str(documents))
    assert code == 1
    assert set(out) >= {"files_scanned", "bytes_scanned", "files", "totals"}
    assert out["files_scanned"] == 7
    assert out["bytes_scanned"] == sum(p.stat().st_size for p in documents.iterdir())
    by_name = {f["path"].removeprefix(f"{documents}/"): f for f in out["files"]}
    assert by_name["dispatch.xlsx"]["counts"] == {"id_card": 1, "phone": 1, "bank_card": 1}
    assert by_name["letter.docx"]["counts"] == {"id_card": 1, "phone": 1, "bank_card": 0}
    assert by_name["page.pdf"]["counts"]["bank_card"] == 1
    assert "archive.zip!inner/data.csv" in by_name
    assert "clean.txt" not in by_name
    assert out["totals"]["id_card"] == 6
    raw = json.dumps(out)
    for number in ROW[1:]:
        assert number not in raw
    assert "1101**********002X" in by_name["gbk.csv"]["samples"]


def test_clean_folder_exits_zero(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("invoice 2024-11-29 total 12345678.00\n")
    code, out = scan(str(tmp_path))
    assert code == 0
    assert out["files"] == [] and out["totals"] == {"id_card": 0, "phone": 0, "bank_card": 0}


def test_manifest_names_the_batch_the_data_came_from(tmp_path: Path) -> None:
    salt = os.urandom(16)
    m = tmp_path / "b1.json"
    m.write_text(json.dumps(batch_document("B2026-01", salt, [ROW[1].encode(), b"13900000000"])))
    other = tmp_path / "b2.json"
    other.write_text(json.dumps(batch_document("B2026-02", os.urandom(16), [b"13700000000"])))
    data = tmp_path / "data"
    data.mkdir()
    (data / "left.csv").write_text(",".join(ROW) + "\n")
    code, out = scan(str(data), "--manifest", str(m), "--manifest", str(other))
    assert code == 1
    assert out["files"][0]["batches"] == ["B2026-01"]


def test_unreadable_file_is_listed_and_scan_goes_on(tmp_path: Path) -> None:
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 broken")
    (tmp_path / "ok.csv").write_text(ROW[2] + "\n")
    code, out = scan(str(tmp_path))
    assert code == 1
    assert out["totals"]["phone"] == 1
    assert [e["path"] for e in out["errors"]] == [str(tmp_path / "broken.zip")]
    broken = next(f for f in out["files"] if f["path"] == str(tmp_path / "broken.zip"))
    assert "truncated: zip archive" in broken["error"]
    assert broken["counts"] == {"id_card": 0, "phone": 0, "bank_card": 0}


@pytest.mark.parametrize("args", [
    pytest.param(["/no/such/path"], id="missing-path"),
    pytest.param(["{tmp}", "--manifest", "{tmp}/nope.json"], id="missing-manifest"),
    pytest.param(["{tmp}", "--manifest", "{tmp}/bad.json"], id="manifest-without-hashes"),
    pytest.param(["{tmp}", "--manifest", "{tmp}/not-hex.json"], id="manifest-hash-not-hex"),
])
def test_bad_input_exits_2(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "bad.json").write_text('{"batch": "B1", "salt": "00"}')
    (tmp_path / "not-hex.json").write_text('{"batch": "B1", "salt": "00", "hashes": ["%s"]}' % ("zz" * 32))
    result = runner.invoke(build_app(), ["scan", "pii", *[a.format(tmp=tmp_path) for a in args], "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""


def test_a_file_that_cannot_be_read_is_not_clean_and_the_scan_exits_1(tmp_path: Path) -> None:
    (tmp_path / "客户清单.xlsx").write_text("姓名,手机\n", encoding="gbk")  # no workbook, no number either
    (tmp_path / "clean.txt").write_text("nothing here\n")
    result = runner.invoke(build_app(), ["scan", "pii", str(tmp_path)])
    assert result.exit_code == 1
    assert f"unreadable {tmp_path / '客户清单.xlsx'}: corrupt: not a .xlsx file" in result.stdout
    code, out = scan(str(tmp_path))
    assert code == 1 and out["totals"] == {"id_card": 0, "phone": 0, "bank_card": 0}
    assert out["errors"] == [{"path": str(tmp_path / "客户清单.xlsx"), "reason": "corrupt: not a .xlsx file"}]


def test_archive_member_names_read_as_their_makers_wrote_them(tmp_path: Path) -> None:
    from tests.agents.pii.containers import raw_name_zip

    line = f"{ROW[1]}\n".encode()
    # Info-ZIP's zip on Linux: UTF-8 names without the UTF-8 flag; Chinese Windows: GB18030 names
    (tmp_path / "linux.zip").write_bytes(raw_name_zip({"名单.csv".encode(): line, "导出/客户.csv".encode(): line}))
    (tmp_path / "windows.zip").write_bytes(raw_name_zip({"名单.csv".encode("gb18030"): line,
                                                         "导出/客户.csv".encode("gb18030"): line}))
    code, out = scan(str(tmp_path))
    assert code == 1
    assert [f["path"].removeprefix(f"{tmp_path}/") for f in out["files"]] == [
        "linux.zip!名单.csv", "linux.zip!导出/客户.csv", "windows.zip!名单.csv", "windows.zip!导出/客户.csv"]
