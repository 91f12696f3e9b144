"""Decide what each candidate run of digits is, all runs of one length at a time."""
from __future__ import annotations

from datetime import date

import numpy as np

from agents.pii.validate import X_VALUE, bank_card_ok, id_card_ok, phone_ok

MAX_DIGITS = 19  # the longest identifier: a bank card
ID_CARD, PHONE, BANK_CARD = 0, 1, 2  # indexes into detect.KINDS; -1: not an identifier
# Digits each length needs: a mobile number's prefix only; 17 digits and the X after them.
_DIGITS_READ = {11: 2, 13: 4, 15: 6, 17: 18}
# How a run is written (`form`): bit flags, so a run with both a '+' before and an X after is 3.
PLAIN, PLUS, CHECK_X, GROUPED = 0, 1, 2, 4


def digit_rows(buf: np.ndarray, start: np.ndarray, n: int) -> np.ndarray:
    """(n, len(start)) digit values: row i holds character i of every candidate, minus '0'."""
    records = np.ndarray(shape=(len(buf) - n + 1,), dtype=f"V{n}", buffer=buf, strides=(1,))
    picked = records[start].view(np.uint8).reshape(-1, n)  # copying n-byte records is one memcpy each
    out = np.empty((n, len(start)), np.uint8)
    np.subtract(picked.T, np.uint8(48), out=out)
    return out


def classify_runs(buf: np.ndarray, start: np.ndarray, length: np.ndarray, form: np.ndarray,
                  today: date) -> tuple[np.ndarray, np.ndarray]:
    """(kind, digits to skip before the number) of each candidate: `length` digits at `start` in `buf`
    (a run longer than MAX_DIGITS is no identifier).

    `form` PLUS: a '+' before the digits (only +86 and a mobile number count); CHECK_X: an X after
    them (only a resident ID counts); GROUPED: written in groups (never a resident ID). PLAIN runs:
    11 digits a mobile, 0086 and a mobile, 18 an ID, else 16-19 a bank card.
    """
    kind = np.full(len(length), -1, np.int8)
    skip = np.zeros(len(length), np.int64)
    group = np.minimum(length, MAX_DIGITS + 1).astype(np.uint8)  # longer runs: one group, never an identifier
    order = np.argsort(group, kind="stable")  # a radix sort on small integers: runs of one length together
    bounds = np.concatenate(([0], np.cumsum(np.bincount(group, minlength=MAX_DIGITS + 2))))
    for n in range(11, MAX_DIGITS + 1):
        rows = order[bounds[n]:bounds[n + 1]]
        if len(rows) == 0:
            continue
        f = form[rows]
        v = digit_rows(buf, start[rows], _DIGITS_READ.get(n, n))
        if n == 11:
            kind[rows[((f == PLAIN) | (f == GROUPED)) & phone_ok(v)]] = PHONE
        elif n == 13:
            ok = (f == PLUS) & (v[0] == 8) & (v[1] == 6) & phone_ok(v[2:])
            kind[rows[ok]], skip[rows[ok]] = PHONE, 2
        elif n == 15:
            ok = (f == PLAIN) & (v[0] == 0) & (v[1] == 0) & (v[2] == 8) & (v[3] == 6) & phone_ok(v[4:])
            kind[rows[ok]], skip[rows[ok]] = PHONE, 4
        elif n == 17:
            with_x = np.flatnonzero(f == CHECK_X)
            if len(with_x):
                kind[rows[with_x[_id_with_x(v[:, with_x], today)]]] = ID_CARD
            v = v[:17]
        card = (f == PLAIN) | (f == GROUPED)
        if n == 18:
            is_id = (f == PLAIN) & id_card_ok(v, today)
            kind[rows[is_id]] = ID_CARD
            card &= ~is_id
        if n >= 16 and card.any():
            card = np.flatnonzero(card)
            w = v if len(card) == len(rows) else v[:, card]  # most often every run of the length is a candidate
            kind[rows[card[bank_card_ok(w, today)]]] = BANK_CARD
    return kind, skip


def _id_with_x(v: np.ndarray, today: date) -> np.ndarray:
    """17 digits and an X (row 17): a resident ID when X is its check character."""
    v[17] = X_VALUE
    return id_card_ok(v, today)
