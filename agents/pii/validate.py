"""Validate many candidate identifiers at once: numpy arrays of digit values, one column per candidate.

`v[i]` holds digit i of every candidate (values 0-9, an ID's check character X is 10, `X_VALUE`):
one column per digit, so each step is one operation over all candidates at once. Every check
takes the candidates of one length and returns one bool per candidate. The scanner groups its
candidates by length, so Python runs a few hundred array operations per chunk of text, not a few
per candidate.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import lru_cache

import numpy as np

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # 2**(17-i) mod 11, ISO 7064 MOD 11-2
ID_CHECK = b"10X98765432"  # check character by weighted sum mod 11
LUHN_DOUBLE = bytes((2 * d - 9 if 2 * d > 9 else 2 * d) for d in range(10))
X_VALUE = 10
PROVINCES = (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
             53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83)
MAX_AGE_YEARS = 120

_ID_CHECK_VALUE = np.array([X_VALUE if c == ord("X") else c - 48 for c in ID_CHECK], np.uint8)
_PROVINCE = np.isin(np.arange(100), PROVINCES)
_SCHEME_FIRST_DIGIT = np.isin(np.arange(16), (3, 4, 5, 6, 9))  # JCB/Amex/Diners, Visa, Mastercard, UnionPay, domestic


def _number(v: np.ndarray) -> np.ndarray:
    """The numbers that rows of digit values spell (at most 4 digits)."""
    out = v[0].astype(np.uint16)
    for digit in v[1:]:
        out = out * 10 + digit
    return out


@lru_cache(maxsize=4)
def _birth_days(today: date) -> np.ndarray:
    """Flat table indexed by (year - first year) * 10000 + MMDD: a real date from 1 January
    MAX_AGE_YEARS years ago up to today. One extra year of False takes every other year."""
    first_year = today.year - MAX_AGE_YEARS
    days = np.arange(np.datetime64(date(first_year, 1, 1)), np.datetime64(today) + np.timedelta64(1, "D"))
    months = days.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    table = np.zeros((MAX_AGE_YEARS + 2) * 10000, bool)
    table[(year - first_year) * 10000 + month * 100 + day] = True
    return table


def birth_date_ok(v: np.ndarray, today: date) -> np.ndarray:
    """Rows YYYYMMDD: the birth date of someone alive (real, not in the future, at most 120 years ago)."""
    year_index = _number(v[:4]).astype(np.int32) - (today.year - MAX_AGE_YEARS)
    year_index[(year_index < 0) | (year_index > MAX_AGE_YEARS)] = MAX_AGE_YEARS + 1
    return _birth_days(today)[year_index * 10000 + _number(v[4:8])]


def id_like(v: np.ndarray, today: date) -> np.ndarray:
    """Province code and birth date where a resident ID has them, whatever follows."""
    return _PROVINCE[v[0] * 10 + v[1]] & birth_date_ok(v[6:14], today)


def id_check_ok(v: np.ndarray) -> np.ndarray:
    """18 rows: the last is the ISO 7064 MOD 11-2 check character of the 17 before it (X is X_VALUE)."""
    total = np.zeros(v.shape[1], np.uint16)
    for digit, weight in zip(v[:17], ID_WEIGHTS, strict=True):
        total += digit * np.uint16(weight)
    return _ID_CHECK_VALUE[total % 11] == v[17]


def id_shaped(v: np.ndarray) -> np.ndarray:
    """A province code and a year 1900-2099 where a resident ID has them: an ID, maybe with a mistyped date."""
    year = _number(v[6:10])
    return _PROVINCE[v[0] * 10 + v[1]] & (year >= 1900) & (year <= 2099)


def id_card_ok(v: np.ndarray, today: date) -> np.ndarray:
    """18 rows: province code, birth date, and the check character."""
    return narrowed(id_like(v, today), v, id_check_ok)


def narrowed(ok: np.ndarray, v: np.ndarray, check: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """`ok & check(v)`, running `check` only for the candidates still ok when they are few
    (a card number rarely holds a birth date; a dispatch file's IDs all do)."""
    rest = np.flatnonzero(ok)
    if len(rest) > len(ok) // 4:
        return ok & check(v)
    if len(rest):
        ok[rest] = check(v[:, rest])
    return ok


def phone_ok(v: np.ndarray) -> np.ndarray:
    """11 rows starting 13-19: a mainland mobile number."""
    return (v[0] == 1) & (v[1] >= 3)


def luhn_ok(v: np.ndarray) -> np.ndarray:
    """Luhn checksum: from the right, every second digit doubled (and 9 taken off when above 9)."""
    total = np.zeros(v.shape[1], np.uint16)
    for digit in v[-1::-2]:
        total += digit
    for digit in v[-2::-2]:  # 2d - 9 for d >= 5, which is 2d + 1 mod 10
        total += digit * np.uint16(2) + (digit >= 5)
    return total % 10 == 0


def card_shape(v: np.ndarray) -> np.ndarray:
    """Scheme prefix: 2221-2720 (16 digits only), else first digit 3, 4, 5, 6 or 9."""
    ok = _SCHEME_FIRST_DIGIT[v[0]]
    if len(v) == 16:
        prefix = _number(v[:4])
        ok |= (prefix >= 2221) & (prefix <= 2720)
    return ok


def bank_card_ok(v: np.ndarray, today: date) -> np.ndarray:
    """16-19 rows, Luhn-valid, with a scheme prefix; 17 and 18 digits only on UnionPay's network
    (62, and 60 of domestic debit cards such as 601428).

    Cards of 16 and 19 digits are what issuers print (Visa, Mastercard, JCB, UnionPay credit: 16;
    Chinese debit cards: 19); 17 and 18 digits are UnionPay debit cards only (its rules allow
    13-19 digits for debit cards). A 16-digit card with a digit or two stuck to it passes Luhn one
    time in ten, so a 17- or 18-digit number that holds a valid 16-digit card is taken for that
    mistake, not for a card; neither is a resident ID with a digit before or after it, nor an
    ID-shaped number (one with a mistyped date, too). A 19-digit number that holds a resident ID
    is that ID with a digit stuck to it.
    """
    n = len(v)
    ok = card_shape(v) & luhn_ok(v)
    if n in (17, 18):
        ok &= (v[0] == 6) & ((v[1] == 2) | (v[1] == 0))
    if n == 19:
        return narrowed(ok, v, lambda w: ~id_card_ok(w[1:], today) & ~id_card_ok(w[:18], today))
    if n in (17, 18):
        return narrowed(ok, v, lambda w: ~id_shaped(w) & ~id_shaped(w[1:]) & ~_holds_card(w))
    return ok


def _holds_card(v: np.ndarray) -> np.ndarray:
    """Some 16 digits in a row of the 17 or 18 form a valid card: a card with a digit or two stuck to it."""
    out = np.zeros(v.shape[1], bool)
    for i in range(len(v) - 15):
        out |= card_shape(v[i:i + 16]) & luhn_ok(v[i:i + 16])
    return out
