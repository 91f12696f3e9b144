"""What a file's name promises, and whether its content keeps the promise.

A file named `*.xlsx` whose bytes are no workbook cannot be read, so it cannot be proven clean: it is a
problem, not raw text to scan. Reasons start with what went wrong (corrupt, encrypted, truncated,
unsupported) so a reader can sort them; only the first bytes already read are looked at, never the file again.
"""
from __future__ import annotations

import re
import struct

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc, .xls, .ppt; also encrypted OOXML
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
GZIP_MAGIC = b"\x1f\x8b"
PDF_MAGIC = b"%PDF-"

# file name extension -> the container its content must be
PROMISES = {"xlsx": "ooxml", "xlsm": "ooxml", "docx": "ooxml", "pptx": "ooxml", "odt": "odf", "ods": "odf",
            "xls": "ole2", "doc": "ole2", "pdf": "pdf", "zip": "zip", "gz": "gzip", "tgz": "gzip",
            "tar": "tar", "7z": "7z", "rar": "rar"}
_MAGICS = {"ooxml": ZIP_MAGICS + (OLE2_MAGIC,), "odf": ZIP_MAGICS, "ole2": (OLE2_MAGIC,), "zip": ZIP_MAGICS,
           "gzip": (GZIP_MAGIC,), "7z": (b"7z\xbc\xaf\x27\x1c",), "rar": (b"Rar!\x1a\x07",)}
PDF_HEADER_WITHIN = 1024  # readers accept a PDF header this far into the file
NOT_OPENED = {"7z": "unsupported: 7z archive: not opened", "rar": "unsupported: RAR archive: not opened"}
_ENCRYPTED_PACKAGE = "EncryptedPackage\0".encode("utf-16-le")
_DIR_ENTRY_BYTES = 128  # an OLE2 directory entry; every entry starts on a multiple of it


def promised(path: str) -> str | None:
    """The container the name promises (`ooxml`, `pdf`, `gzip`, ...), None for names that promise nothing.
    The last name of an archive member path (`a.zip!b/c.xlsx`) counts."""
    name = path.rpartition("!")[2].rpartition("/")[2]
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    return PROMISES.get(ext)


def extension(path: str) -> str:
    return path.rpartition(".")[2].lower()


def broken_promise(path: str, fmt: str, head: bytes) -> str | None:
    """Why content starting with `head` is not the `fmt` its name promises; None when it may be.
    An empty file holds no data and breaks no promise."""
    if not head:
        return None
    what = f"not a .{extension(path)} file"
    if fmt == "pdf":
        if PDF_MAGIC in head[:PDF_HEADER_WITHIN]:
            return None
        return f"truncated: {what} (cut inside its header)" if PDF_MAGIC.startswith(head) else f"corrupt: {what}"
    if fmt == "tar":
        if len(head) < 512:
            return f"truncated: {what} (shorter than one tar header)"
        return None if _tar_header_ok(head[:512]) else f"corrupt: {what}"
    magics = _MAGICS[fmt]
    if any(head.startswith(m) for m in magics):
        return NOT_OPENED.get(fmt)
    if any(m.startswith(head) for m in magics):
        return f"truncated: {what} (cut inside its header)"
    return f"corrupt: {what}"


def _tar_header_ok(block: bytes) -> bool:
    """A ustar magic, or an old-style header whose checksum adds up (the checksum field counts as spaces)."""
    if block[257:262] == b"ustar":
        return True
    field = block[148:156].split(b"\0")[0].strip()
    if not re.fullmatch(rb"[0-7]+", field):
        return False
    return int(field, 8) == sum(block[:148]) + 8 * 32 + sum(block[156:])


def ole2_encrypted(data: bytes) -> bool:
    """An OLE2 compound file holding an `EncryptedPackage` stream: a password-protected Office document
    (Word, Excel and PowerPoint store the encrypted OOXML package so). Directory entries start on
    128-byte boundaries with the UTF-16 name, its byte length (with the terminator) at offset 64."""
    at = data.find(_ENCRYPTED_PACKAGE)
    while at >= 0:
        if at % _DIR_ENTRY_BYTES == 0 and data[at + 64:at + 66] == struct.pack("<H", len(_ENCRYPTED_PACKAGE)):
            return True
        at = data.find(_ENCRYPTED_PACKAGE, at + 1)
    return False
