"""Synthetic identifiers for tests, benchmarks and the simulated site: valid ones and near misses."""
from __future__ import annotations

import random
from datetime import date, timedelta

from agents.pii.validate import ID_CHECK, ID_WEIGHTS, LUHN_DOUBLE

# 620102 (Lanzhou): province 62 is also UnionPay's prefix, so its near misses look like cards
REGIONS = ("110105", "310104", "440106", "440304", "330106", "510107", "420102", "370202", "620102")


def id_check_char(first17: str) -> str:
    return chr(ID_CHECK[sum(w * int(c) for w, c in zip(ID_WEIGHTS, first17, strict=True)) % 11])


def resident_id(rng: random.Random) -> str:
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
    first17 = f"{rng.choice(REGIONS)}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + id_check_char(first17)


def luhn_digit(body: str) -> str:
    total = sum(LUHN_DOUBLE[int(c)] if i % 2 == 0 else int(c) for i, c in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def bank_card(rng: random.Random) -> str:
    length = rng.choice((16, 19))
    body = rng.choice(("622202", "621700", "622848", "436742", "524094")) + "".join(
        str(rng.randrange(10)) for _ in range(length - 7))
    return body + luhn_digit(body)


def phone(rng: random.Random) -> str:
    return rng.choice(("138", "139", "150", "186", "199", "177")) + f"{rng.randrange(10 ** 8):08d}"


def near_misses(rng: random.Random) -> list[str]:
    """Numbers that look like identifiers but are not: wrong check digits, longer runs, bad dates."""
    rid, card, ph = resident_id(rng), bank_card(rng), phone(rng)
    wrong_check = rid[:17] + rng.choice([c for c in "0123456789X" if c != rid[17]])
    wrong_luhn = card[:-1] + str((int(card[-1]) + rng.randrange(1, 10)) % 10)
    bad_date = rid[:10] + "1332" + rid[14:17]
    bad_date += id_check_char(bad_date)
    return [wrong_check, wrong_luhn, bad_date, "9" + ph, ph + "7", "1" + rid, card + "5", "12" + ph[2:],
            ph[:10], rid[:17]]
