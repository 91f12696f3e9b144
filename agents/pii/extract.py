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

from agents.pii.formats import (
    GZIP_MAGIC,
    OLE2_MAGIC,
    PDF_HEADER_WITHIN,
    PDF_MAGIC,
    ZIP_MAGICS,
    broken_promise,
    extension,
    ole2_encrypted,
    promised,
)

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
_PPTX_BREAKS = re.compile(rb"</a:p>|<a:br/>|</a:tc>")
_TAG = re.compile(rb"<[^>]*>")


def xml_text(xml: bytes, breaks: re.Pattern[bytes], cell_end: bytes = b"") -> bytes:
    """Text of an office XML part: runs of one paragraph joined, paragraphs and rows on lines."""
    if cell_end:
        xml = xml.replace(cell_end, b"\t")
    return _TAG.sub(b"", breaks.sub(b"\n", xml))


PDF_END_WITHIN = 2048  # a complete PDF ends with %%EOF; writers may add a little after it


def pdf_text(path: str, data: bytes) -> Iterator[Chunk | Problem]:
    """The PDF's text layer; pages that are only pictures (scanned paper) cannot be read, and say so."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if b"%%EOF" not in data[-PDF_END_WITHIN:]:
        raise Unreadable("truncated: PDF without its end (%%EOF)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Unreadable("encrypted: password-protected PDF")
        texts, pictures = [], []
        for number, page in enumerate(reader.pages, 1):
            text = page.extract_text() or ""
            texts.append(text)
            if not text.strip() and _has_images(page):
                pictures.append(number)
    except Unreadable:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as e:
        raise Unreadable(f"corrupt PDF: {e}") from None
    yield Chunk(path, "\n".join(texts).encode("utf-8"))
    if pictures:
        yield Problem(path, f"scanned image: not read (page {_pages(pictures)} of {len(texts)} without text)")


def _has_images(page) -> bool:
    """The page draws an external object: a picture, or a form holding one (scanners wrap their images so);
    looked up without decoding it. A form with text would have given text."""
    resources = page.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources is not None else None
    return xobjects is not None and len(xobjects.get_object()) > 0


def _pages(numbers: list[int]) -> str:
    if len(numbers) > 3:
        return f"{numbers[0]}-{numbers[-1]}" if numbers[-1] - numbers[0] + 1 == len(numbers) else \
            ", ".join(map(str, numbers[:3])) + ", ..."
    return ", ".join(map(str, numbers))


def _is_utf16(head: bytes) -> bool:
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return True
    sample = head[:4096]
    return len(sample) >= 64 and sample[1::2].count(0) > 0.4 * len(sample) // 2


def ole2_text(data: bytes) -> bytes:
    """Legacy Office files keep text as 8-bit runs or UTF-16LE: scan the bytes and both UTF-16 readings."""
    if ole2_encrypted(data):
        raise Unreadable("encrypted: password-protected Office document (EncryptedPackage)")
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


_OFFICE_PARTS = (  # (a part that says which format, the parts holding its text, line breaks, cell end)
    ("word/document.xml", r"word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml$", _DOCX_BREAKS, b""),
    ("xl/workbook.xml", r"xl/(sharedStrings|worksheets/[^/]+)\.xml$", _XLSX_BREAKS, b"</c>"),
    ("ppt/presentation.xml", r"ppt/(slides|notesSlides)/[^/]+\.xml$", _PPTX_BREAKS, b""),
)


def office_text(zf: zipfile.ZipFile, names: list[str], limits: Limits) -> Iterator[bytes]:
    """Text of a DOCX, XLSX, PPTX or ODF document opened as a ZIP."""
    parts, breaks, cell_end = [n for n in names if n == "content.xml"], _DOCX_BREAKS, b""
    for marker, pattern, breaks_of, cell_end_of in _OFFICE_PARTS:
        if marker in names:
            parts = [n for n in names if re.match(pattern, n)]
            breaks, cell_end = breaks_of, cell_end_of
            break
    for name in parts:
        yield xml_text(read_member(zf, zf.getinfo(name), limits), breaks, cell_end)


def is_office(names: list[str]) -> bool:
    return any(marker in names for marker, _, _, _ in _OFFICE_PARTS) or (
        "content.xml" in names and "mimetype" in names)


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> bytes:
    """One member's bytes, refusing encrypted members and bombs (ratio and size checked while reading)."""
    if info.flag_bits & 0x1:
        raise Unreadable("encrypted: password-protected archive member")
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
    except NotImplementedError as e:
        raise Unreadable(f"unsupported: archive member ({e})") from None
    except EOFError as e:
        raise Unreadable(f"truncated: archive member ends early ({e})") from None
    except (zipfile.BadZipFile, OSError, ValueError) as e:
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
    if not z.eof:
        raise Unreadable("truncated: gzip stream ends early")
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
        cut = "unexpected end" in str(e) or isinstance(e, EOFError)
        yield Problem(path, f"truncated: tar archive ends early ({e})" if cut else f"corrupt tar archive: {e}")


def _is_tar(head: bytes) -> bool:
    return head[257:262] == b"ustar"


def content_kind(head: bytes, fmt: str | None) -> str:
    """What the first bytes say the content is; `fmt`, the promised container, already checked against them."""
    if head[:4] in ZIP_MAGICS:
        return "zip"
    if head[:2] == GZIP_MAGIC:
        return "gzip"
    if _is_tar(head) or fmt == "tar":
        return "tar"
    if head[:5] == PDF_MAGIC or (fmt == "pdf" and PDF_MAGIC in head[:PDF_HEADER_WITHIN]):
        return "pdf"
    if head[:8] == OLE2_MAGIC:
        return "ole2"
    return "utf16" if _is_utf16(head) else "text"


def whole(f: BinaryIO, limits: Limits) -> bytes:
    """All of a document that must be parsed in one piece (within the member limit)."""
    # an archive member already in memory is taken without a copy
    data = f.getvalue() if isinstance(f, io.BytesIO) and f.tell() == 0 else f.read(limits.max_member_bytes + 1)
    if len(data) > limits.max_member_bytes:
        raise Unreadable(f"unsupported: more than {limits.max_member_bytes} bytes to parse in one piece: not read")
    return data


def from_stream(path: str, f: BinaryIO, limits: Limits, depth: int) -> Iterator[Chunk | Problem]:
    """A file or archive member -> chunks and problems. Its name's promise is checked against its first bytes;
    plain text is streamed."""
    head = f.read(4096)
    f.seek(0)
    fmt = promised(path)
    try:
        broken = broken_promise(path, fmt, head) if fmt else None
        if broken:
            raise Unreadable(broken)
        kind = content_kind(head, fmt)
        if kind == "zip":
            yield from from_zip(path, f, limits, depth, fmt)
        elif kind == "gzip":
            if depth >= limits.max_depth:
                raise Unreadable(f"archive nested deeper than {limits.max_depth} levels: not opened")
            inner = path.rpartition("/")[2].removesuffix(".gz").removesuffix(".tgz") or "data"
            yield from from_bytes(f"{path}!{inner}", gunzip(whole(f, limits), limits), limits, depth + 1)
        elif kind == "tar":
            yield from from_tar(path, whole(f, limits), limits, depth)
        elif kind == "pdf":
            yield from pdf_text(path, whole(f, limits))
        elif kind == "ole2":
            yield Chunk(path, ole2_text(whole(f, limits)))
        elif kind == "utf16":
            yield Chunk(path, decode_utf16(whole(f, limits)))
        else:
            for block in stream_chunks(f, limits.chunk_bytes):
                yield Chunk(path, block)
    except Unreadable as e:
        yield Problem(path, str(e))
    except zipfile.BadZipFile as e:
        yield Problem(path, f"corrupt archive: {e}")


def from_bytes(path: str, data: bytes, limits: Limits, depth: int) -> Iterator[Chunk | Problem]:
    """Content held in memory (an archive member) -> chunks and problems."""
    return from_stream(path, io.BytesIO(data), limits, depth)


def from_file(path: str, f: BinaryIO, limits: Limits) -> Iterator[Chunk | Problem]:
    """An open file -> chunks and problems; large text files are streamed."""
    return from_stream(path, f, limits, 0)


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its maker wrote it. Without the UTF-8 flag Python reads the name as cp437:
    Info-ZIP on Linux writes UTF-8 without the flag, Chinese Windows writes GB18030 (GBK). UTF-8 is tried
    strictly first: Chinese GBK names are almost never valid UTF-8."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for codec in ("utf-8", "gb18030"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return info.filename


def open_zip(path: str, f: BinaryIO) -> zipfile.ZipFile:
    """The archive; one whose end (the central directory) is missing was cut short."""
    try:
        return zipfile.ZipFile(f)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        f.seek(0)
        if f.read(4) == ZIP_MAGICS[0] and str(e) == "File is not a zip file":
            raise Unreadable("truncated: zip archive without its end (central directory)") from None
        raise Unreadable(f"corrupt archive: {e}") from None


def from_zip(path: str, f: BinaryIO, limits: Limits, depth: int, fmt: str | None = None) -> Iterator[Chunk | Problem]:
    with open_zip(path, f) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        if is_office(names):
            for text in office_text(zf, names, limits):
                yield Chunk(path, text)
            return
        if fmt in ("ooxml", "odf"):  # a zip, but not the document the name promises: its members are still read
            yield Problem(path, f"corrupt: a zip archive without the parts of a .{extension(path)} document")
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
