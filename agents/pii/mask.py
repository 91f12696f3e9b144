"""The one masking rule for numbers that identify people or accounts, wherever they are printed:
reports, certificates, audit details, PII scan samples, logs.

Every kind keeps its last four characters (what staff quote to find a record) and as few leading
ones as still say what the number is:

| kind | kept | example |
|---|---|---|
| resident ID (18) | first 4 (province, city), last 4 | `1101**********123X` |
| bank card (16-19) | first 4 (scheme, bank), last 4 | `6222***********0128` |
| phone, dialled number | first 3 (carrier, area code), last 4 | `138****8000` |

An ID's district and birth date and a card's account digits never show (the first six of a card,
which PCI DSS allows, would narrow the bank's account range). At least `MIN_HIDDEN` digits are
always hidden: a short number loses its head first, then shows as stars only.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

Kind = Literal["id_card", "phone", "bank_card"]
KEPT: dict[Kind, tuple[int, int]] = {"id_card": (4, 4), "bank_card": (4, 4), "phone": (3, 4)}  # (leading, trailing)
MIN_HIDDEN = 4
LONG_TOKEN = 24  # hashes, keys and encoded blobs: digits inside them are not identifiers
_ALNUM_TAIL = re.compile(r"[0-9A-Za-z]*\Z")
_ALNUM_HEAD = re.compile(r"[0-9A-Za-z]*")

# longest first so a bank card is not read as a phone number inside it; any number of the shape is
# masked, valid or not: a report masks what might be an identifier
_IN_TEXT: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    ("id_card", re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")),
    ("bank_card", re.compile(r"(?<!\d)\d{16,19}(?!\d)")),
    ("phone", re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")),
)


def mask_number(kind: Kind, number: str | bytes) -> str:
    """`number` (its digits and an ID's check X; other characters are dropped) with only the
    characters `KEPT` for its kind showing."""
    text = number.decode("ascii", "replace") if isinstance(number, bytes) else number
    chars = "".join(c for c in text if c in "0123456789Xx")
    head, tail = KEPT[kind]
    if len(chars) - head - tail < MIN_HIDDEN:
        head = 0
    if len(chars) - tail < MIN_HIDDEN:
        return "*" * len(chars)
    return chars[:head] + "*" * (len(chars) - head - tail) + chars[len(chars) - tail:]


def mask_text(text: str) -> str:
    """`text` with every number shaped like an identifier masked."""
    for kind, pattern in _IN_TEXT:
        text = pattern.sub(_masker(kind), text)
    return text


def _masker(kind: Kind) -> Callable[[re.Match[str]], str]:
    def masked(m: re.Match[str]) -> str:
        return m.group() if _in_long_token(m.string, m.start(), m.end()) else mask_number(kind, m.group())
    return masked


def _in_long_token(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] lies in a run of at least LONG_TOKEN ASCII letters and digits."""
    before = _ALNUM_TAIL.search(text, max(0, start - LONG_TOKEN), start)
    after = _ALNUM_HEAD.match(text, end, end + LONG_TOKEN)
    return len(before.group() if before else "") + end - start + len(after.group() if after else "") >= LONG_TOKEN


def mask(value: Any) -> Any:
    """Every string inside a JSON-like value, masked."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value
