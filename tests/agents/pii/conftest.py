"""Real-format documents holding identifiers, written with the libraries that read them."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

ROW = ["张三", "11010519491231002X", "13800138000", "6222021234567890128"]


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with `text` in Helvetica: enough for a text extractor, written by hand."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    return pdf_from_objects([
        b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"])


def pdf_from_objects(objs: list[bytes]) -> bytes:
    """A PDF file of the numbered objects (1 is the catalog), with its cross-reference table and trailer."""
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


@pytest.fixture(name="documents")
def documents_fixture(tmp_path: Path) -> Path:
    import docx
    import openpyxl

    root = tmp_path / "docs"
    root.mkdir()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "身份证", "手机", "卡号"])
    ws.append([ROW[0], ROW[1], int(ROW[2]), ROW[3]])  # phones often land in numeric cells
    wb.save(root / "dispatch.xlsx")
    d = docx.Document()
    d.add_paragraph("催收函 客户身份证 ").add_run(ROW[1][:6]).font.bold = True
    d.paragraphs[0].add_run(ROW[1][6:])  # a number split across runs, as Word does
    table = d.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "电话", ROW[2]
    d.save(root / "letter.docx")
    (root / "page.pdf").write_bytes(minimal_pdf(f"Card {ROW[3]}"))
    (root / "gbk.csv").write_bytes(",".join(ROW).encode("gbk") + b"\n")
    (root / "utf16.txt").write_bytes(",".join(ROW).encode("utf-16"))
    (root / "clean.txt").write_text("nothing here 2024-11-29 12345\n")
    with zipfile.ZipFile(root / "archive.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("inner/data.csv", ",".join(ROW) + "\n")
        z.write(root / "dispatch.xlsx", "inner/dispatch.xlsx")
    return root
