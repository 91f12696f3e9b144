"""Formats: every document type yields its text; bombs and corrupt files become problems."""
from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

from agents.pii.extract import Chunk, Limits, Problem, from_file, stream_chunks
from tests.agents.pii.conftest import ROW


def extract(path: Path, limits: Limits | None = None) -> tuple[bytes, list[Problem]]:
    text, problems = b"", []
    with open(path, "rb") as f:
        for item in from_file(str(path), f, limits or Limits()):
            if isinstance(item, Chunk):
                text += item.data
            else:
                problems.append(item)
    return text, problems


@pytest.mark.parametrize("name,wanted", [
    pytest.param("dispatch.xlsx", [ROW[1], ROW[2], ROW[3]], id="xlsx"),
    pytest.param("letter.docx", [ROW[1], ROW[2]], id="docx-split-runs"),
    pytest.param("page.pdf", [ROW[3]], id="pdf"),
    pytest.param("gbk.csv", [ROW[1]], id="gbk"),
    pytest.param("utf16.txt", [ROW[1], ROW[2]], id="utf16"),
    pytest.param("archive.zip", [ROW[1], ROW[2]], id="zip-with-xlsx"),
])
def test_documents_yield_their_text(documents: Path, name: str, wanted: list[str]) -> None:
    text, problems = extract(documents / name)
    assert problems == []
    for number in wanted:
        assert number.encode() in text


def bomb(path: Path, size: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.txt", b"0" * size)
    return path


def test_archive_bomb_is_refused_not_inflated(tmp_path: Path) -> None:
    text, problems = extract(bomb(tmp_path / "bomb.zip", 20 << 20))
    assert text == b""
    assert [p.path for p in problems] == [f"{tmp_path / 'bomb.zip'}!zeros.txt"]
    assert "bomb" in problems[0].reason


def test_nesting_deeper_than_the_limit_is_reported(tmp_path: Path) -> None:
    data = b"11010519491231002X\n"
    for level in range(4):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr(f"level{level}.bin" if level else "id.txt", data)
        data = buf.getvalue()
    (tmp_path / "deep.zip").write_bytes(data)
    text, problems = extract(tmp_path / "deep.zip", Limits(max_depth=2))
    assert b"11010519491231002X" not in text
    assert problems and "nested deeper" in problems[0].reason


@pytest.mark.parametrize("content,reason", [
    pytest.param(b"PK\x03\x04 not really a zip", "truncated: zip archive", id="zip-without-its-end"),
    pytest.param(b"PK\x03\x04 garbage PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 1, 1, 46, 0, 0),
                 "corrupt archive", id="corrupt-zip"),
    pytest.param(b"%PDF-1.4\n garbage", "truncated: PDF", id="pdf-without-its-end"),
    pytest.param(b"%PDF-1.4\n garbage\n%%EOF\n", "corrupt PDF", id="corrupt-pdf"),
])
def test_corrupt_files_become_problems(tmp_path: Path, content: bytes, reason: str) -> None:
    (tmp_path / "f").write_bytes(content)
    _, problems = extract(tmp_path / "f")
    assert len(problems) == 1 and reason in problems[0].reason


def test_streamed_chunks_never_split_a_line() -> None:
    lines = [f"{i},11010519491231002X\n".encode() for i in range(1000)]
    chunks = list(stream_chunks(io.BytesIO(b"".join(lines)), 1000))
    assert len(chunks) > 10
    assert all(c.endswith(b"\n") for c in chunks)
    assert b"".join(chunks) == b"".join(lines)


def test_legacy_office_text_in_utf16_is_found(tmp_path: Path) -> None:
    from agents.pii.detect import find
    from agents.pii.extract import OLE2_MAGIC

    body = OLE2_MAGIC + b"\x00" * 503 + "客户 11010519491231002X 电话 13800138000".encode("utf-16-le") + b"\x00" * 64
    (tmp_path / "old.xls").write_bytes(body)
    text, problems = extract(tmp_path / "old.xls")
    assert problems == []
    assert sorted(k for k, _ in find(text)) == ["id_card", "phone"]


def test_one_line_files_are_cut_between_fields() -> None:
    line = b",".join(b'{"id":"11010519491231002X"}' for _ in range(500))
    chunks = list(stream_chunks(io.BytesIO(line), 1000))
    assert len(chunks) > 5
    assert sum(c.count(b"11010519491231002X") for c in chunks) == 500


def test_gbk_member_names_are_shown_in_chinese(tmp_path: Path) -> None:
    from agents.pii.extract import member_name

    info = zipfile.ZipInfo("客户清单.csv".encode("gbk").decode("cp437"))  # as a GBK archive without the UTF-8 flag
    assert member_name(info) == "客户清单.csv"
    linux = zipfile.ZipInfo("名单.csv".encode().decode("cp437"))  # Info-ZIP: UTF-8 bytes, no flag
    assert member_name(linux) == "名单.csv"
    utf8 = zipfile.ZipInfo("客户清单.csv")
    utf8.flag_bits |= 0x800
    assert member_name(utf8) == "客户清单.csv"


def test_tar_gz_backups_are_opened(tmp_path: Path) -> None:
    import gzip
    import tarfile

    src = tmp_path / "export.csv"
    src.write_text(f"{ROW[1]},{ROW[2]}\n")
    with tarfile.open(tmp_path / "backup.tar.gz", "w:gz") as tf:
        tf.add(src, "home/agent/export.csv")
    (tmp_path / "single.csv.gz").write_bytes(gzip.compress(src.read_bytes()))
    for name in ("backup.tar.gz", "single.csv.gz"):
        text, problems = extract(tmp_path / name)
        assert problems == [] and ROW[1].encode() in text, name


def test_gzip_bomb_is_refused(tmp_path: Path) -> None:
    import gzip

    (tmp_path / "bomb.gz").write_bytes(gzip.compress(b"0" * (20 << 20)))
    text, problems = extract(tmp_path / "bomb.gz")
    assert text == b"" and "bomb" in problems[0].reason
