"""Recognise PRC resident ID numbers, mainland mobile numbers and bank card numbers in bytes.

Digits are ASCII in UTF-8, GBK and GB18030 alike, so text in those encodings is scanned as bytes
without decoding. numpy finds every run of 11 or more digits in one pass over the buffer's digit
mask; the runs are validated by length in bulk (`agents.pii.validate`). Numbers written in
groups (`138 0013 8000`) are rare: a regular expression reads them, only in lines where numpy
saw four digits between two spaces or hyphens.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np

from agents.pii.classify import CHECK_X, GROUPED, MAX_DIGITS, PLUS, classify_runs
from agents.pii.mask import LONG_TOKEN, Kind

KINDS: tuple[Kind, ...] = ("id_card", "phone", "bank_card")
_PAD = b"\n" * (LONG_TOKEN + 1)  # around the buffer: every look at a neighbour stays inside it

_GROUPED = re.compile(
    rb"(?<![0-9])1[3-9][0-9](?: [0-9]{4} |-[0-9]{4}-)[0-9]{4}(?![0-9])"
    # card groups: a neighbouring group of digits means a longer number, not a card
    rb"|(?<![0-9])(?<![0-9] )[2-69][0-9]{3}(?: [0-9]{4}){3}(?: [0-9]{1,3})?(?![0-9]| [0-9])")
_WINDOW_BYTES = 1 << 11
# A small input is first searched for something every identifier holds (eleven digits in a row,
# four digits between separators, a full-width digit): below a couple of kB that search costs less
# than numpy's fixed cost per call.
SMALL_BYTES = 1 << 11
_MAY_HOLD_ONE = re.compile(rb"[0-9]{11}|[0-9] [0-9]{4} [0-9]|[0-9]-[0-9]{4}-[0-9]|\xef\xbc[\x90-\x99]")
_ALNUM_BYTES = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_ALNUM = np.zeros(256, bool)
_ALNUM[list(_ALNUM_BYTES)] = True
_NORMAL = bytes.maketrans(b"x", b"X")  # with b" -" deleted: a match as its normalised number

# full-width digits and Ｘ in UTF-8 (Chinese input methods type them): read as ASCII
_FULLWIDTH = re.compile(rb"\xef\xbc[\x90-\x99\xb8]|\xef\xbd\x98")
_FULLWIDTH_ASCII = {bytes([0xEF, 0xBC, 0x90 + i]): bytes([0x30 + i]) for i in range(10)} | {
    b"\xef\xbc\xb8": b"X", b"\xef\xbd\x98": b"x"}


def _has_fullwidth_digits(buf: np.ndarray) -> bool:
    """Whether UTF-8 full-width digits or Ｘ occur (full-width punctuation ，：（ is common; these are not)."""
    lead = np.flatnonzero(buf[:-2] == 0xEF)
    second, third = buf[lead + 1], buf[lead + 2]
    return bool((((second == 0xBC) & (((third >= 0x90) & (third <= 0x99)) | (third == 0xB8)))
                 | ((second == 0xBD) & (third == 0x98))).any())


@dataclass(frozen=True)
class Hits:
    """Identifiers found in one buffer: kind (index into KINDS) and the span of each number, in order."""

    text: bytes  # the scanned bytes, padded
    kind: np.ndarray
    start: np.ndarray
    end: np.ndarray

    def __len__(self) -> int:
        return len(self.kind)

    def select(self, start: int, end: int) -> Hits:
        """The hits whose number begins in data[start:end] (positions in the scanned data)."""
        lo, hi = np.searchsorted(self.start, (start + len(_PAD), end + len(_PAD)))
        return Hits(self.text, self.kind[lo:hi], self.start[lo:hi], self.end[lo:hi])

    def counts(self) -> dict[Kind, int]:
        return dict(zip(KINDS, np.bincount(self.kind, minlength=len(KINDS)).tolist(), strict=True))

    def numbers(self) -> Iterator[tuple[Kind, bytes]]:
        """(kind, normalised number): digits only, an ID's check character upper-case."""
        text = self.text
        for i in range(0, len(self.kind), 4096):  # in blocks: a caller wanting a few samples converts a few
            block = (a[i:i + 4096].tolist() for a in (self.kind, self.start, self.end))
            for k, s, e in zip(*block, strict=True):
                yield KINDS[k], text[s:e].translate(_NORMAL, b" -")


def _alnum_run_bytes(data: bytes, pos: int) -> int:
    """Length of the run of letters and digits through data[pos], counted up to LONG_TOKEN."""
    i, j, n = pos, pos + 1, len(data)
    while i > 0 and data[i - 1] in _ALNUM_BYTES and j - i < LONG_TOKEN:
        i -= 1
    while j < n and data[j] in _ALNUM_BYTES and j - i < LONG_TOKEN:
        j += 1
    return j - i


def in_long_token(data: bytes, start: int, end: int) -> bool:
    """Whether the digits of data[start:end] are part of a run of at least LONG_TOKEN letters and
    digits (a hex hash, a key): the run through its first or its last character."""
    return _alnum_run_bytes(data, start) >= LONG_TOKEN or _alnum_run_bytes(data, end - 1) >= LONG_TOKEN


def _long_runs(four: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) of every run of at least 11 digits, from `four` (digits at i..i+3; False at both ends)."""
    eleven = four[:-4] & four[4:]  # digits at i..i+7
    eleven = eleven[:-3] & eleven[3:]  # i..i+10
    edges = np.flatnonzero(eleven[1:] != eleven[:-1])
    return edges[0::2] + 1, edges[1::2] + 11


Found = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # kind, start, end, span start, span end


def _digit_runs(buf: np.ndarray, digit: np.ndarray, four: np.ndarray, today: date) -> Found:
    """Identifiers written as one run of digits: (kind, start, end, span start, span end).

    The span (the digits and an X after them) is what must not be part of a long token. A run with
    '+' before it is only ever +86 and a mobile number; a run with an X after it (and no digit after
    that) only a resident ID.
    """
    start, end = _long_runs(four)
    plus = buf[start - 1] == ord("+")
    check_x = ((buf[end] | 0x20) == ord("x")) & ~digit[end + 1]
    form = plus * np.uint8(PLUS) | check_x * np.uint8(CHECK_X)
    kind, skip = classify_runs(buf, start, end - start, form, today)
    found = np.flatnonzero(kind >= 0)
    end = end[found] + check_x[found]
    return kind[found], start[found] + skip[found], end, start[found], end


def _grouping_hints(text: bytes, buf: np.ndarray, four: np.ndarray) -> np.ndarray:
    """Where a space or hyphen, four digits and another space or hyphen follow each other: every
    grouped phone (`138 0013 8000`) and card (`6222 0212 3456 7890`) has one; dates and amounts do not."""
    if b" " not in text and b"-" not in text:
        return np.zeros(0, np.int64)
    separator = (buf == ord(" ")) | (buf == ord("-"))
    return np.flatnonzero(separator[:-5] & four[1:-1] & separator[5:])


def _lines_around(text: bytes, hints: np.ndarray) -> Iterator[tuple[int, int]]:
    """Line-aligned regions of `text` holding every hint, so matching never starts mid-number."""
    i = 0
    while i < len(hints):
        start = text.rfind(b"\n", 0, int(hints[i])) + 1
        end = text.find(b"\n", int(hints[i]) + _WINDOW_BYTES)
        end = len(text) if end < 0 else end
        yield start, end
        i = int(np.searchsorted(hints, end))


def _grouped(text: bytes, buf: np.ndarray, four: np.ndarray, today: date) -> Found:
    """Identifiers written in groups (`138 0013 8000`, `6222 0212 3456 7890 128`), like `_digit_runs`."""
    hints = _grouping_hints(text, buf, four)
    spans = [m.span() for lo, hi in _lines_around(text, hints) for m in _GROUPED.finditer(text, lo, hi)]
    if not spans:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty, empty, empty
    numbers = [text[s:e].translate(None, b" -") for s, e in spans]
    digits = np.frombuffer(b"".join(n.ljust(MAX_DIGITS, b"0") for n in numbers), np.uint8)
    count = len(spans)
    kind, _ = classify_runs(digits, np.arange(count) * MAX_DIGITS, np.array([len(n) for n in numbers]),
                            np.full(count, GROUPED, np.uint8), today)
    start, end = np.array(spans, np.int64).reshape(-1, 2).T
    found = kind >= 0
    return kind[found], start[found], end[found], start[found], end[found]


def find_hits(data: bytes, today: date | None = None) -> Hits:
    """Every identifier in `data`, in the order they appear."""
    today = today or date.today()
    if len(data) < SMALL_BYTES and _MAY_HOLD_ONE.search(data) is None:
        return Hits(data, *(np.zeros(0, np.int64) for _ in range(3)))
    text = _PAD + data + _PAD
    buf = np.frombuffer(text, np.uint8)
    if b"\xef" in data and _has_fullwidth_digits(buf):  # the first test is a memchr
        text = _FULLWIDTH.sub(lambda m: _FULLWIDTH_ASCII[m.group()], text)
        buf = np.frombuffer(text, np.uint8)
    digit = np.subtract(buf, 48, dtype=np.uint8) < 10
    four = digit[:-1] & digit[1:]
    four = four[:-2] & four[2:]  # digits at i..i+3
    runs, grouped = _digit_runs(buf, digit, four, today), _grouped(text, buf, four, today)
    kind, start, end, span_start, span_end = (
        runs if len(grouped[0]) == 0 else (np.concatenate(a) for a in zip(runs, grouped, strict=True)))
    # digits inside hashes and keys: only a span with a letter or digit beside it can be inside one
    beside = np.flatnonzero(_ALNUM[buf[span_start - 1]] | _ALNUM[buf[span_end]])
    inside = [i for i in beside.tolist() if in_long_token(text, int(span_start[i]), int(span_end[i]))]
    if inside or len(grouped[0]):
        keep = np.ones(len(kind), bool)
        keep[inside] = False
        kind, start, end = kind[keep], start[keep], end[keep]
        order = np.argsort(start, kind="stable")
        kind, start, end = kind[order], start[order], end[order]
    return Hits(text, kind, start, end)


def find(data: bytes, today: date | None = None) -> Iterator[tuple[Kind, bytes]]:
    """Every identifier in `data` as (kind, normalised number), in the order they appear."""
    return find_hits(data, today).numbers()


def classify(cand: bytes, today: date | None = None) -> tuple[Kind, bytes] | None:
    """The identifier a candidate such as `+8613800138000` or `138 0013 8000` is, or None."""
    return next(find(cand, today), None)

