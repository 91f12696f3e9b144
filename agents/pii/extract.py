"""Turn a file into scannable text bytes: plain text (UTF-8, GBK, UTF-16), XLSX, DOCX, ODF, PDF, ZIP,
tar, gzip and legacy Office (.doc, .xls) files.

Each file yields `Chunk`s of bytes to scan and `Problem`s (unreadable, corrupt, refused). ZIP
archives are opened recursively within `Limits` so an archive bomb cannot exhaust the host.
"""
from __future__ import annotations

import io
import re
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    max_depth: int = 3  # archives inside archives
    max_member_bytes: int = 256 * MIB  # one uncompressed archive member or document held in memory
    max_archive_bytes: int = 2048 * MIB  # all members of one archive together
    max_ratio: float = 200.0  # uncompressed / compressed size of a member
    chunk_bytes: int = 2 * MIB  # text streamed in pieces the detector's working arrays keep in cache


@dataclass(frozen=True)
class Chunk:
    path: str
    data: bytes


@dataclass(frozen=True)
class Problem:
    path: str
    reason: str


class Unreadable(Exception):
    """The content cannot be read; the message says why."""


_DOCX_BREAKS = re.compile(rb"</w:p>|</w:tc>|<w:tab/>|<w:br/>|</text:p>|</table:table-cell>")
_XLSX_BREAKS = re.compile(rb"</row>|</si>")
_TAG = re.compile(rb"<[^>]*>")


def xml_text(xml: bytes, breaks: re.Pattern[bytes], cell_end: bytes = b"") -> bytes:
    """Text of an office XML part: runs of one paragraph joined, paragraphs and rows on lines."""
    if cell_end:
        xml = xml.replace(cell_end, b"\t")
    return _TAG.sub(b"", breaks.sub(b"\n", xml))


def pdf_text(data: bytes) -> bytes:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Unreadable("encrypted PDF")
        return "\n".join(page.extract_text() or "" for page in reader.pages).encode("utf-8")
    except Unreadable:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError) as e:
        raise Unreadable(f"corrupt PDF: {e}") from None


def _is_utf16(head: bytes) -> bool:
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return True
    sample = head[:4096]
    return len(sample) >= 64 and sample[1::2].count(0) > 0.4 * len(sample) // 2


OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc, .xls, .ppt


def ole2_text(data: bytes) -> bytes:
    """Legacy Office files keep text as 8-bit runs or UTF-16LE: scan the bytes and both UTF-16 readings."""
    return b"\n".join([data] + [data[i:].decode("utf-16-le", errors="replace").encode("utf-8") for i in (0, 1)])


def decode_utf16(data: bytes) -> bytes:
    codec = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-16-le"
    return data.decode(codec, errors="replace").encode("utf-8")


def _cut(block: bytes) -> int:
    """Where to end a chunk: after the last line end, else after the last separator (minified JSON,
    one-line exports), so that no number is split between two chunks; 0 when there is none."""
    cut = block.rfind(b"\n") + 1
    if cut == 0:
        cut = max(block.rfind(sep) for sep in (b",", b";", b"\t", b"|", b'"', b">")) + 1
    return cut


def stream_chunks(f: BinaryIO, chunk_bytes: int) -> Iterator[bytes]:
    """Chunks cut after a line end or separator, so no number is split between two chunks."""
    carry = b""
    while True:
        block = f.read(chunk_bytes)
        if not block:
            if carry:
                yield carry
            return
        block = carry + block
        cut = _cut(block)
        if cut == 0 and len(block) < 4 * chunk_bytes:
            carry = block
            continue
        cut = cut or len(block)
        carry = block[cut:]
        yield block[:cut]


def office_text(zf: zipfile.ZipFile, names: list[str], limits: Limits) -> Iterator[bytes]:
    """Text of a DOCX, XLSX or ODF document opened as a ZIP."""
    if "word/document.xml" in names:
        parts = [n for n in names if re.match(r"word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml$", n)]
        breaks, cell_end = _DOCX_BREAKS, b""
    elif "xl/workbook.xml" in names:
        parts = [n for n in names if n == "xl/sharedStrings.xml" or re.match(r"xl/worksheets/[^/]+\.xml$", n)]
        breaks, cell_end = _XLSX_BREAKS, b"</c>"
    else:
        parts = [n for n in names if n == "content.xml"]
        breaks, cell_end = _DOCX_BREAKS, b""
    for name in parts:
        yield xml_text(read_member(zf, zf.getinfo(name), limits), breaks, cell_end)


def is_office(names: list[str]) -> bool:
    return "word/document.xml" in names or "xl/workbook.xml" in names or (
        "content.xml" in names and "mimetype" in names)


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> bytes:
    """One member's bytes, refusing encrypted members and bombs (ratio and size checked while reading)."""
    if info.flag_bits & 0x1:
        raise Unreadable("encrypted archive member")
    cap = min(limits.max_member_bytes, int(max(info.compress_size, 1) * limits.max_ratio))
    if info.file_size > cap:
        raise Unreadable(f"member of {info.file_size} bytes exceeds the limit of {cap} bytes "
                         f"(size or compression ratio: possible archive bomb)")
    out = bytearray()
    try:
        with zf.open(info) as f:
            while block := f.read(MIB):
                out += block
                if len(out) > cap:  # the header lied about the size
                    raise Unreadable(f"member inflates beyond {cap} bytes (possible archive bomb)")
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as e:
        raise Unreadable(f"corrupt archive member: {e}") from None
    return bytes(out)


def gunzip(data: bytes, limits: Limits) -> bytes:
    """A gzip stream inflated within the member size and ratio limits."""
    cap = min(limits.max_member_bytes, int(max(len(data), 1) * limits.max_ratio))
    z = zlib.decompressobj(wbits=31)
    try:
        out = z.decompress(data, cap + 1)
    except zlib.error as e:
        raise Unreadable(f"corrupt gzip: {e}") from None
    if len(out) > cap:
        raise Unreadable(f"gzip inflates beyond {cap} bytes (size or compression ratio: possible archive bomb)")
    return out


def from_tar(path: str, data: bytes, limits: Limits, depth: int) -> Iterator[Chunk | Problem]:
    if depth >= limits.max_depth:
        yield Problem(path, f"archive nested deeper than {limits.max_depth} levels: not opened")
        return
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tf:
            total = 0
            for member in tf:
                if not member.isfile():
                    continue
                inner = f"{path}!{member.name}"
                total += member.size
                if member.size > limits.max_member_bytes or total > limits.max_archive_bytes:
                    yield Problem(inner, f"member of {member.size} bytes exceeds the archive limits: not read")
                    continue
                fobj = tf.extractfile(member)
                if fobj is not None:
                    yield from from_bytes(inner, fobj.read(), limits, depth + 1)
    except (tarfile.TarError, EOFError, OSError) as e:
        yield Problem(path, f"corrupt tar archive: {e}")


def _is_tar(head: bytes) -> bool:
    return head[257:262] == b"ustar"


def from_bytes(path: str, data: bytes, limits: Limits, depth: int) -> Iterator[Chunk | Problem]:
    """Content held in memory (an archive member) -> chunks and problems."""
    try:
        if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
            yield from from_zip(path, io.BytesIO(data), limits, depth)
        elif data[:2] == b"\x1f\x8b":
            if depth >= limits.max_depth:
                raise Unreadable(f"archive nested deeper than {limits.max_depth} levels: not opened")
            inner = path.rpartition("/")[2].removesuffix(".gz").removesuffix(".tgz") or "data"
            yield from from_bytes(f"{path}!{inner}", gunzip(data, limits), limits, depth + 1)
        elif _is_tar(data[:512]):
            yield from from_tar(path, data, limits, depth)
        elif data[:5] == b"%PDF-":
            yield Chunk(path, pdf_text(data))
        elif data[:8] == OLE2_MAGIC:
            yield Chunk(path, ole2_text(data))
        elif _is_utf16(data[:4096]):
            yield Chunk(path, decode_utf16(data))
        else:
            yield Chunk(path, data)
    except Unreadable as e:
        yield Problem(path, str(e))


def member_name(info: zipfile.ZipInfo) -> str:
    """Archives made on Chinese Windows store names in GBK without the UTF-8 flag; Python reads them as cp437."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gb18030")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def from_zip(path: str, f: BinaryIO, limits: Limits, depth: int) -> Iterator[Chunk | Problem]:
    try:
        zf = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        yield Problem(path, f"corrupt archive: {e}")
        return
    with zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        if is_office(names):
            for text in office_text(zf, names, limits):
                yield Chunk(path, text)
            return
        if depth >= limits.max_depth:
            yield Problem(path, f"archive nested deeper than {limits.max_depth} levels: not opened")
            return
        total = 0
        for info in infos:
            if info.is_dir():
                continue
            inner = f"{path}!{member_name(info)}"
            total += info.file_size
            if total > limits.max_archive_bytes:
                yield Problem(inner, f"archive holds more than {limits.max_archive_bytes} bytes: rest not opened")
                return
            try:
                data = read_member(zf, info, limits)
            except Unreadable as e:
                yield Problem(inner, str(e))
                continue
            yield from from_bytes(inner, data, limits, depth + 1)


def from_file(path: str, f: BinaryIO, limits: Limits) -> Iterator[Chunk | Problem]:
    """An open file -> chunks and problems; large text files are streamed."""
    head = f.read(4096)
    f.seek(0)
    try:
        if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
            yield from from_zip(path, f, limits, 0)
        elif head[:2] == b"\x1f\x8b" or _is_tar(head):
            yield from from_bytes(path, f.read(limits.max_member_bytes + 1), limits, 0)
        elif head[:5] == b"%PDF-":
            yield Chunk(path, pdf_text(f.read(limits.max_member_bytes + 1)))
        elif head[:8] == OLE2_MAGIC:
            yield Chunk(path, ole2_text(f.read(limits.max_member_bytes)))
        elif _is_utf16(head):
            yield Chunk(path, decode_utf16(f.read(limits.max_member_bytes)))
        else:
            for block in stream_chunks(f, limits.chunk_bytes):
                yield Chunk(path, block)
    except Unreadable as e:
        yield Problem(path, str(e))
    except zipfile.BadZipFile as e:
        yield Problem(path, f"corrupt archive: {e}")
