"""The one masking rule: what of each identifier may be printed, in text and on its own."""
from __future__ import annotations

import pytest

from agents.pii.mask import mask, mask_number, mask_text


@pytest.mark.parametrize(("kind", "number", "want"), [
    pytest.param("id_card", "44010619900307123X", "4401**********123X", id="id-x"),
    pytest.param("id_card", b"110101199003071233", "1101**********1233", id="id-bytes"),
    pytest.param("bank_card", "6222021234567890128", "6222***********0128", id="card-19"),
    pytest.param("bank_card", "6222021234567890", "6222********7890", id="card-16"),
    pytest.param("phone", "13800138000", "138****8000", id="mobile"),
    pytest.param("phone", "138 0013-8000", "138****8000", id="mobile-grouped"),
    pytest.param("phone", "+86 138 0013 8000", "861******8000", id="mobile-country-code"),
    pytest.param("phone", "02012345678", "020****5678", id="landline-with-area-code"),
    pytest.param("phone", "12345678", "****5678", id="short-loses-its-head"),
    pytest.param("phone", "1234567", "*******", id="too-short-for-a-tail"),
    pytest.param("phone", "", "", id="empty"),
])
def test_mask_number_keeps_only_the_rule_s_ends(kind, number, want) -> None:
    assert mask_number(kind, number) == want


@pytest.mark.parametrize(("text", "want"), [
    pytest.param("身份证110101199003071233复印件", "身份证1101**********1233复印件", id="id-in-chinese"),
    pytest.param("ID 11010119900307123X", "ID 1101**********123X", id="id-x"),
    pytest.param("call 13812345678 now", "call 138****5678 now", id="mobile"),
    pytest.param("card 6222021234567890123", "card 6222***********0123", id="card-19"),
    pytest.param("card 6222021234567890", "card 6222********7890", id="card-16"),
    pytest.param("runtime 1260 s, 2026-11-29", "runtime 1260 s, 2026-11-29", id="ordinary-numbers"),
    pytest.param("T012 host", "T012 host", id="host-ids"),
    pytest.param("sha256 9f2c1380013800012345678e4b1d0c8a7f6e5d4c3b2a1908f7e6d5c4b3a2918f7e6d5c4",
                 "sha256 9f2c1380013800012345678e4b1d0c8a7f6e5d4c3b2a1908f7e6d5c4b3a2918f7e6d5c4", id="inside-a-hash"),
    pytest.param("12345678901234567890", "12345678901234567890", id="twenty-digits"),
])
def test_mask_text(text, want) -> None:
    assert mask_text(text) == want


def test_mask_walks_json() -> None:
    assert mask({"a": ["13812345678", 5], "b": {"c": "x"}}) == {"a": ["138****5678", 5], "b": {"c": "x"}}
