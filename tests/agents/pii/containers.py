"""Containers the scanner must refuse or name right, written byte by byte as their makers write them:
a password-protected zip (PKWARE traditional encryption), an encrypted Office document (an OLE2
compound file with an EncryptedPackage stream), a PDF of a scanned page, zips whose member names are
UTF-8 or GB18030 without the UTF-8 flag."""
from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib

from tests.agents.pii.conftest import pdf_from_objects


def _crc_byte(crc: int, b: int) -> int:
    return ~zlib.crc32(bytes([b]), ~crc & 0xFFFFFFFF) & 0xFFFFFFFF


class _ZipCrypto:
    """PKWARE's traditional stream cipher (APPNOTE 6.1), the one `zip -P` and Windows Explorer use."""

    def __init__(self, password: bytes):
        self.k = [0x12345678, 0x23456789, 0x34567890]
        for b in password:
            self._update(b)

    def _update(self, b: int) -> None:
        k0 = _crc_byte(self.k[0], b)
        k1 = ((self.k[1] + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        self.k = [k0, k1, _crc_byte(self.k[2], k1 >> 24)]

    def encrypt(self, data: bytes) -> bytes:
        out = bytearray()
        for b in data:
            t = (self.k[2] | 2) & 0xFFFF
            out.append(b ^ (((t * (t ^ 1)) >> 8) & 0xFF))
            self._update(b)
        return bytes(out)


def encrypted_zip(name: str, data: bytes, password: bytes) -> bytes:
    """A one-member zip, stored, encrypted with `password` (flag bit 0), UTF-8 name flagged."""
    crc = zlib.crc32(data)
    body = _ZipCrypto(password).encrypt(os.urandom(11) + bytes([crc >> 24]) + data)
    raw, flags = name.encode("utf-8"), 0x1 | 0x800
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, 0, 0, 0x21, crc, len(body), len(data), len(raw), 0)
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, 0, 0, 0x21, crc, len(body), len(data),
                          len(raw), 0, 0, 0, 0, 0, 0)
    head = local + raw + body
    cd = central + raw
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(cd), len(head), 0)
    return head + cd + end


def raw_name_zip(members: dict[bytes, bytes]) -> bytes:
    """A zip whose member names are the given bytes with no UTF-8 flag, as Info-ZIP on Linux (UTF-8 bytes)
    or Chinese Windows (GB18030 bytes) write them: written with placeholder ASCII names of the same length,
    then the names put in (no checksum covers them)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (raw, data) in enumerate(members.items()):
            z.writestr(_placeholder(i, len(raw)), data)
    out = buf.getvalue()
    for i, raw in enumerate(members):
        holder = _placeholder(i, len(raw)).encode()
        assert out.count(holder) == 2  # the local header and the central directory
        out = out.replace(holder, raw)
    return out


def _placeholder(i: int, length: int) -> str:
    return f"{i}".rjust(length, "~")


def _dir_entry(name: str, kind: int, child: int = 0xFFFFFFFF, right: int = 0xFFFFFFFF, start: int = 0,
               size: int = 0) -> bytes:
    encoded = (name + "\0").encode("utf-16-le")
    return (encoded.ljust(64, b"\0") + struct.pack("<HBB", len(encoded), kind, 1)
            + struct.pack("<III", 0xFFFFFFFF, right, child) + bytes(16 + 4 + 8 + 8)
            + struct.pack("<IQ", start, size))


def encrypted_office(package: bytes | None = None) -> bytes:
    """An OLE2 compound file (version 3, 512-byte sectors) with the two streams Office writes for a
    password-protected .docx/.xlsx: EncryptionInfo and EncryptedPackage (4096 bytes each, so both live
    in regular sectors): sector 0 the FAT, 1 the directory, 2-9 and 10-17 the streams."""
    info = struct.pack("<HHI", 4, 4, 0x40).ljust(4096, b"\0")  # agile encryption header, then padding
    package = (package or os.urandom(4096)).ljust(4096, b"\0")[:4096]
    end, fat_sect, free = 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    fat = [fat_sect, end, *range(3, 10), end, *range(11, 18), end]
    fat += [free] * (128 - len(fat))
    directory = (_dir_entry("Root Entry", 5, child=1, start=end)
                 + _dir_entry("EncryptionInfo", 2, right=2, start=2, size=4096)
                 + _dir_entry("EncryptedPackage", 2, start=10, size=4096) + bytes(128))
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16)
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
              + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
              + struct.pack("<I", 0) + struct.pack("<I", free) * 108)
    assert len(header) == 512
    return header + struct.pack("<128I", *fat) + directory + info + package


_DRAW_IMAGE = b"q 612 0 0 792 0 0 cm /Im1 Do Q"


def scanned_pdf(text_page: str | None = None) -> bytes:
    """A PDF with one page that is only a picture (a scanned page: an image, no text layer), after a page
    showing `text_page` when given."""
    kids = b"[6 0 R 3 0 R]" if text_page else b"[3 0 R]"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids %s /Count %d >>" % (kids, 2 if text_page else 1),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /XObject << /Im1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(_DRAW_IMAGE), _DRAW_IMAGE),
            b"<< /Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray "
            b"/BitsPerComponent 8 /Length 64 >>\nstream\n" + bytes([128]) * 64 + b"\nendstream"]
    if text_page:
        stream = f"BT /F1 12 Tf 72 720 Td ({text_page}) Tj ET".encode()
        objs += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 7 0 R "
                 b"/Resources << /Font << /F1 8 0 R >> >> >>",
                 b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
                 b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    return pdf_from_objects(objs)
