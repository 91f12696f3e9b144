"""A file whose name promises a format it does not keep, or that cannot be opened (corrupt, encrypted,
truncated, unsupported, a scanned image), is a problem with its reason, never a clean file."""
from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from agents.pii.extract import Chunk, Limits, Problem, from_file
from tests.agents.pii.conftest import ROW, minimal_pdf
from tests.agents.pii.containers import encrypted_office, encrypted_zip, scanned_pdf

PROMISING = ["xlsx", "xlsm", "xls", "docx", "doc", "pptx", "odt", "ods", "pdf", "zip", "gz", "tgz", "tar", "7z",
             "rar"]


def extract(path: Path) -> tuple[bytes, list[Problem]]:
    text, problems = b"", []
    with open(path, "rb") as f:
        for item in from_file(str(path), f, Limits()):
            if isinstance(item, Chunk):
                text += item.data
            else:
                problems.append(item)
    return text, problems


def reasons(path: Path) -> list[str]:
    return [p.reason for p in extract(path)[1]]


@pytest.mark.parametrize("ext", PROMISING)
def test_a_name_promising_a_format_the_content_does_not_keep_is_corrupt(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"客户清单.{ext}"
    path.write_text(f"姓名,手机\n张三,{ROW[2]}\n" * 200, encoding="gbk")  # a CSV export renamed
    text, problems = extract(path)
    assert text == b""
    assert [(p.path, p.reason) for p in problems] == [(str(path), f"corrupt: not a .{ext} file")]


def test_names_that_promise_nothing_are_still_read_as_text(tmp_path: Path) -> None:
    for name in ("notes.txt", "export.csv", "README", "data.xlsx.bak"):
        (tmp_path / name).write_text(f"{ROW[2]}\n")
        text, problems = extract(tmp_path / name)
        assert problems == [] and ROW[2].encode() in text, name


def test_an_empty_file_holds_nothing_and_breaks_no_promise(tmp_path: Path) -> None:
    (tmp_path / "新建 Microsoft Word 文档.docx").write_bytes(b"")
    assert extract(tmp_path / "新建 Microsoft Word 文档.docx") == (b"", [])


def _xlsx_bytes() -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    for i in range(300):
        wb.active.append([ROW[0], ROW[1], f"{i:05d}"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _tar_bytes() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:") as tf:
        data = (f"{ROW[1]},{ROW[2]}\n" * 2000).encode()
        info = tarfile.TarInfo("home/agent/export.csv")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("export.csv", (f"{ROW[1]},{ROW[2]}\n" * 2000).encode())
    return buf.getvalue()


@pytest.mark.parametrize("name,make,cut", [
    pytest.param("dispatch.xlsx", _xlsx_bytes, 0.5, id="xlsx-half"),
    pytest.param("backup.zip", _zip_bytes, 0.5, id="zip-half"),
    pytest.param("backup.zip", _zip_bytes, 2 / 30000, id="zip-two-bytes"),
    pytest.param("export.csv.gz", lambda: gzip.compress("".join(f"{ROW[1]},{i}\n" for i in range(5000)).encode()),
                 0.5, id="gz-half"),
    pytest.param("backup.tar", _tar_bytes, 0.5, id="tar-half"),
    pytest.param("backup.tar", _tar_bytes, 0.01, id="tar-inside-its-header"),
    pytest.param("backup.tgz", lambda: gzip.compress(_tar_bytes()), 0.7, id="tgz"),
    pytest.param("letter.pdf", lambda: minimal_pdf(f"Card {ROW[3]}"), 0.6, id="pdf"),
])
def test_a_file_cut_short_is_truncated(tmp_path: Path, name: str, make, cut: float) -> None:
    data = make()
    path = tmp_path / name
    path.write_bytes(data[:max(2, int(len(data) * cut))])
    found = reasons(path)
    assert len(found) == 1 and found[0].startswith("truncated: "), found


def test_a_password_protected_zip_is_encrypted_not_clean(tmp_path: Path) -> None:
    locked = encrypted_zip("客户清单.csv", f"{ROW[1]},{ROW[2]}\n".encode(), b"123456")
    assert zipfile.ZipFile(io.BytesIO(locked)).read("客户清单.csv", pwd=b"123456").startswith(ROW[1].encode())
    (tmp_path / "locked.zip").write_bytes(locked)
    text, problems = extract(tmp_path / "locked.zip")
    assert text == b""
    assert [(p.path, p.reason) for p in problems] == [
        (f"{tmp_path / 'locked.zip'}!客户清单.csv", "encrypted: password-protected archive member")]


@pytest.mark.parametrize("name", ["dispatch.xlsx", "letter.docx", "slides.pptx", "old.doc"])
def test_an_encrypted_office_document_is_encrypted_not_clean(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(encrypted_office(f"{ROW[1]}".encode() * 100))  # even with digits in the bytes
    text, problems = extract(tmp_path / name)
    assert text == b""
    assert [p.reason for p in problems] == ["encrypted: password-protected Office document (EncryptedPackage)"]


def test_an_encrypted_pdf_is_encrypted(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(minimal_pdf(f"Card {ROW[3]}"))))
    writer.encrypt(user_password="s3cret", algorithm="RC4-128")
    writer.write(tmp_path / "locked.pdf")
    assert reasons(tmp_path / "locked.pdf") == ["encrypted: password-protected PDF"]


def test_a_pdf_of_scanned_pages_is_not_read_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "scan.pdf").write_bytes(scanned_pdf())
    assert extract(tmp_path / "scan.pdf") == (b"", [Problem(str(tmp_path / "scan.pdf"),
                                                            "scanned image: not read (page 1 of 1 without text)")])
    (tmp_path / "mixed.pdf").write_bytes(scanned_pdf(f"Card {ROW[3]}"))
    text, problems = extract(tmp_path / "mixed.pdf")
    assert ROW[3].encode() in text  # the text page is still read
    assert [p.reason for p in problems] == ["scanned image: not read (page 2 of 2 without text)"]


@pytest.mark.parametrize("ext,magic", [("7z", b"7z\xbc\xaf\x27\x1c\x00\x04"), ("rar", b"Rar!\x1a\x07\x01\x00")])
def test_archives_the_scanner_cannot_open_are_unsupported(tmp_path: Path, ext: str, magic: bytes) -> None:
    (tmp_path / f"backup.{ext}").write_bytes(magic + ROW[1].encode() * 50)
    assert extract(tmp_path / f"backup.{ext}") == (b"", [Problem(str(tmp_path / f"backup.{ext}"),
                                                                 f"unsupported: {ext.upper().replace('7Z', '7z')} "
                                                                 "archive: not opened")])


def test_a_zip_named_as_a_workbook_is_corrupt_and_its_members_still_read(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "dispatch.xlsx", "w") as z:
        z.writestr("export.csv", f"{ROW[2]}\n")
    text, problems = extract(tmp_path / "dispatch.xlsx")
    assert ROW[2].encode() in text
    assert [p.reason for p in problems] == ["corrupt: a zip archive without the parts of a .xlsx document"]


def test_a_broken_file_inside_an_archive_is_named_by_its_member_path(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "outbox.zip", "w") as z:
        z.writestr("2026/dispatch.xlsx", f"{ROW[1]}\n")
        z.writestr("2026/ok.csv", f"{ROW[2]}\n")
    text, problems = extract(tmp_path / "outbox.zip")
    assert ROW[2].encode() in text and ROW[1].encode() not in text
    assert [(p.path, p.reason) for p in problems] == [
        (f"{tmp_path / 'outbox.zip'}!2026/dispatch.xlsx", "corrupt: not a .xlsx file")]


def test_pptx_slides_are_read(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "deck.pptx", "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("ppt/presentation.xml", "<p:presentation/>")
        z.writestr("ppt/slides/slide1.xml", f"<p:sld><a:p><a:r><a:t>客户 {ROW[1][:9]}</a:t></a:r>"
                                            f"<a:r><a:t>{ROW[1][9:]}</a:t></a:r></a:p></p:sld>")
    text, problems = extract(tmp_path / "deck.pptx")
    assert problems == [] and ROW[1].encode() in text
