"""Signed bytes: RFC 8785 known answers (the RFC's own examples and its Appendix B numbers)."""
from __future__ import annotations

import struct

import pytest

from collector.proof.canonical import CanonicalError, canonical, legacy_canonical, signed_form


def test_rfc8785_section_3_2_2_example():
    """RFC 8785 section 3.2.2: numbers, string escapes and literals of one object."""
    given = {"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
             "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"/", "literals": [None, True, False]}
    want = ('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
            '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}')
    assert canonical(given) == want.encode()


def test_rfc8785_section_3_2_3_keys_sort_by_utf16_code_units():
    """The emoji (UTF-16 D83D DE00) sorts before U+FB33, though its code point is higher."""
    given = {"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
             "1": "One", "\U0001F600": "Emoji: Grinning Face", "\u0080": "Control",
             "\u00f6": "Latin Small Letter O With Diaeresis"}
    keys = ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001F600", "\ufb33"]
    want = "{" + ",".join(f'"{k if k != chr(13) else chr(92) + "r"}":"{given[k]}"' for k in keys) + "}"
    assert canonical(given) == want.encode()
    assert legacy_canonical(given) != canonical(given)  # the form signed before: code point order


# RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text
APPENDIX_B = [
    ("0000000000000000", "0"), ("8000000000000000", "0"), ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"), ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"), ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"), ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"), ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"), ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"), ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"), ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"), ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"), ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"), ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "text"), APPENDIX_B, ids=[b for b, _ in APPENDIX_B])
def test_rfc8785_appendix_b_numbers(bits, text):
    (value,) = struct.unpack(">d", bytes.fromhex(bits))
    assert canonical(value) == text.encode()


@pytest.mark.parametrize(("value", "text"), [
    pytest.param(1.0, b"1", id="1.0-is-1"),
    pytest.param(1e21, b"1e+21", id="1e21"),
    pytest.param(-0.0, b"0", id="minus-zero"),
    pytest.param(2**53 - 1, b"9007199254740991", id="largest-safe-integer"),
])
def test_numbers_where_the_old_form_differed(value, text):
    assert canonical(value) == text
    assert canonical({"v": value}) == b'{"v":' + text + b"}"


@pytest.mark.parametrize("value", [
    pytest.param(float("nan"), id="nan"),
    pytest.param(float("inf"), id="infinity"),
    pytest.param(float("-inf"), id="minus-infinity"),
    pytest.param(2**53, id="integer-beyond-2**53"),
    pytest.param({1: "a", "1": "b"}, id="non-string-key"),
    pytest.param("\ud800", id="lone-surrogate"),
    pytest.param({"x": object()}, id="not-json"),
])
def test_what_rfc8785_cannot_express_is_refused(value):
    """Never null for NaN, never a duplicate key from an integer key: refused, naming why."""
    with pytest.raises(CanonicalError):
        canonical(value)


def test_signed_form_follows_the_body_it_is_given():
    old = {"statement": "all good", "n": 1.0}
    new = {**old, "canonical": "rfc8785"}
    assert signed_form(old) == b'{"n":1.0,"statement":"all good"}'  # signed before RFC 8785
    assert signed_form(new) == b'{"canonical":"rfc8785","n":1,"statement":"all good"}'
