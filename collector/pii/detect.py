"""Recognise PRC resident ID numbers, mainland mobile numbers and bank card numbers in bytes.

A fast engine (RE2 when installed) finds regions that may hold a candidate; the standard
`re` module extracts candidates there; each candidate is then validated (check character,
birth date, prefix, Luhn). Digits are ASCII in UTF-8, GBK and GB18030 alike, so text in
those encodings is scanned as bytes without decoding.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

try:  # RE2 skips digit-free text an order of magnitude faster than `re`
    import re2 as _fast_re
except ImportError:  # pragma: no cover - RE2 is a declared dependency; `re` still gives the same answers
    _fast_re = re

Kind = Literal["id_card", "phone", "bank_card"]
KINDS: tuple[Kind, ...] = ("id_card", "phone", "bank_card")

# Hints are supersets of real candidates; the exact patterns below decide.
_HINT_SPACED = rb"1[3-9][0-9][ -][0-9]{4}[ -][0-9]{4}|[2-69][0-9]{3} [0-9]{4} [0-9]{4} [0-9]{4}"
_HINT = _fast_re.compile(rb"[0-9]{11}|" + _HINT_SPACED)
_HINT_SPACED_ONLY = _fast_re.compile(_HINT_SPACED)
# Leftmost matching makes every hit a maximal digit run (a '+' only when it is directly before it).
_RUN = re.compile(rb"[+0-9][0-9]{10,}(?:[Xx](?![0-9]))?")
_SPACED = re.compile(
    rb"(?<![0-9])1[3-9][0-9](?: [0-9]{4} |-[0-9]{4}-)[0-9]{4}(?![0-9])"
    # card groups: a neighbouring group of digits means a longer number, not a card
    rb"|(?<![0-9])(?<![0-9] )[2-69][0-9]{3}(?: [0-9]{4}){3}(?: [0-9]{1,3})?(?![0-9]| [0-9])")
_WINDOW_BYTES = 1 << 11

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = b"10X98765432"
_PROVINCES = frozenset(
    b"11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 83"
    .split())
_LUHN_DOUBLE = bytes((2 * d - 9 if 2 * d > 9 else 2 * d) for d in range(10))
_LUHN_DOUBLE_ASCII = bytes.maketrans(b"0123456789", _LUHN_DOUBLE)


@lru_cache(maxsize=4)
def _birth_dates(today: date) -> frozenset[bytes]:
    """Every YYYYMMDD from 120 years ago to today: one set lookup instead of parsing a date."""
    day, first, out = today, date(today.year - 120, 1, 1), set()
    while day >= first:
        out.add(b"%04d%02d%02d" % (day.year, day.month, day.day))
        day -= timedelta(days=1)
    return frozenset(out)


def birth_date_ok(d: bytes, today: date | None = None) -> bool:
    """YYYYMMDD of someone alive: a real date, not in the future, at most 120 years ago."""
    return d in _birth_dates(today or date.today())


def id_like(d: bytes, today: date | None = None) -> bool:
    """Province code and birth date where a resident ID has them (whatever the check character)."""
    return d[:2] in _PROVINCES and birth_date_ok(d[6:14], today)


def id_card_ok(d: bytes, today: date | None = None) -> bool:
    """18 characters: province code, plausible birth date, ISO 7064 MOD 11-2 check character."""
    if len(d) != 18 or not d[:17].isdigit():
        return False
    # weights are 2**(17-i) mod 11 and 13 = 2 (mod 11): reading the digits in base 13 sums them in C
    if _ID_CHECK[2 * int(d[:17], 13) % 11] != (88 if d[17] == 120 else d[17]):  # 'x' counts as 'X'
        return False
    return id_like(d, today)


def phone_ok(d: bytes) -> bool:
    """11 digits starting 13-19: a mainland mobile number."""
    return len(d) == 11 and d[0] == 49 and 51 <= d[1] <= 57


def luhn_ok(d: bytes) -> bool:
    odd = d[-1::-2]
    even = d[-2::-2]
    return (sum(odd) - 48 * len(odd) + sum(even.translate(_LUHN_DOUBLE_ASCII))) % 10 == 0


def _card_shape(d: bytes) -> bool:
    """Scheme prefix: 2221-2720 (16 digits only), 3 JCB/Amex/Diners, 4 Visa, 5 Mastercard, 6 UnionPay, 9 domestic."""
    if d[0] == 50:  # '2'
        return len(d) == 16 and 2221 <= int(d[:4]) <= 2720
    return d[0] in b"34569"


def bank_card_ok(d: bytes) -> bool:
    """16-19 digits, Luhn-valid, with a scheme prefix; 17 and 18 digits only for UnionPay (62).

    A 16-digit card with a digit or two stuck to it passes Luhn one time in ten, so a 17- or
    18-digit number that holds a valid 16-digit card is taken for that mistake, not for a card;
    neither is a resident ID with a digit before or after it, nor an ID-shaped number.
    """
    n = len(d)
    if not 16 <= n <= 19 or not _card_shape(d) or not luhn_ok(d):
        return False
    if n == 19:
        return not (id_card_ok(d[1:]) or id_card_ok(d[:18]))
    if n in (17, 18):
        if d[:2] != b"62" or id_like(d) or id_like(d[1:]):
            return False
        return not any(_card_shape(d[i:i + 16]) and luhn_ok(d[i:i + 16]) for i in range(n - 15))
    return True


def classify(cand: bytes, today: date | None = None) -> tuple[Kind, bytes] | None:
    """A candidate as matched -> (kind, normalised number) or None when it is not one."""
    if b" " in cand or b"-" in cand:
        d = cand.replace(b" ", b"").replace(b"-", b"")
        if len(d) == 11:
            return ("phone", d) if phone_ok(d) else None
        return ("bank_card", d) if bank_card_ok(d) else None
    if cand[0] == 43:  # '+': only +86 followed by a mobile number
        d = cand[3:]
        return ("phone", d) if cand.startswith(b"+86") and phone_ok(d) else None
    if cand[-1] in b"Xx":
        d = cand[:-1] + b"X"
        return ("id_card", d) if id_card_ok(d, today) else None
    n = len(cand)
    if n == 11:
        return ("phone", cand) if phone_ok(cand) else None
    if n == 15 and cand.startswith(b"0086"):
        return ("phone", cand[4:]) if phone_ok(cand[4:]) else None
    if n == 18 and id_card_ok(cand, today):
        return ("id_card", cand)
    return ("bank_card", cand) if bank_card_ok(cand) else None


_ALNUM = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
LONG_TOKEN = 24  # hashes, keys and encoded blobs: digits inside them are not identifiers
_LONG_TOKEN = _fast_re.compile(rb"[0-9A-Za-z]{%d}" % LONG_TOKEN)


def in_long_token(data: bytes, start: int, end: int) -> bool:
    """Whether data[start:end] sits inside a run of at least LONG_TOKEN letters and digits (a hex hash...)."""
    n = len(data)
    if (start == 0 or data[start - 1] not in _ALNUM) and (end >= n or data[end] not in _ALNUM):
        return False
    i, j = start, end
    while i > 0 and data[i - 1] in _ALNUM and end - i < LONG_TOKEN:
        i -= 1
    while j < n and data[j] in _ALNUM and j - i < LONG_TOKEN:
        j += 1
    return j - i >= LONG_TOKEN


def _windows(data: bytes) -> Iterator[tuple[int, int]]:
    """Line-aligned regions of `data` around each hint, so exact matching never starts mid-number."""
    pos, n = 0, len(data)
    while pos < n:
        m = _HINT.search(data, pos)
        if m is None:
            return
        start = max(pos, data.rfind(b"\n", pos, m.start()) + 1)
        end = data.find(b"\n", m.end() + _WINDOW_BYTES)
        end = n if end < 0 else end
        yield start, end
        pos = end


# full-width digits and Ｘ in UTF-8 (Chinese input methods type them): read as ASCII
_FULLWIDTH = re.compile(rb"\xef\xbc[\x90-\x99\xb8]|\xef\xbd\x98")
_FULLWIDTH_ASCII = {bytes([0xEF, 0xBC, 0x90 + i]): bytes([0x30 + i]) for i in range(10)} | {
    b"\xef\xbc\xb8": b"X", b"\xef\xbd\x98": b"x"}


def find(data: bytes, today: date | None = None) -> Iterator[tuple[Kind, bytes]]:
    """Every identifier in `data` as (kind, normalised number), in no particular order."""
    today = today or date.today()
    if b"\xef\xbc" in data:
        data = _FULLWIDTH.sub(lambda m: _FULLWIDTH_ASCII[m.group()], data)
    for start, end in _windows(data):
        # grouped numbers are rare and their exact pattern is slow: only where RE2 saw one
        spaced = _HINT_SPACED_ONLY.search(data, start, end) is not None
        if _LONG_TOKEN.search(data, start, end) is None:  # the common case: no positions needed
            yield from (hit for cand in _RUN.findall(data, start, end) if (hit := classify(cand, today)))
            if spaced:
                yield from (hit for cand in _SPACED.findall(data, start, end) if (hit := classify(cand, today)))
            continue
        for pattern in (_RUN, _SPACED) if spaced else (_RUN,):
            for m in pattern.finditer(data, start, end):
                hit = classify(m.group(), today)
                if hit is not None and not in_long_token(data, m.start(), m.end()):
                    yield hit


def mask(kind: Kind, number: bytes) -> str:
    """Keep the first and last few characters only: 4401**********123X, 138****8000."""
    s = number.decode("ascii")
    head = 3 if kind == "phone" else 4
    return s[:head] + "*" * (len(s) - head - 4) + s[-4:]
