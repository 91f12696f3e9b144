"""Strict JSON: what the store cannot keep exactly is refused, naming where; what it can is kept as sent."""
from __future__ import annotations

import pytest

from collector.proof.canonical import stored_json
from collector.strictjson import (
    MAX_BIGINT,
    JsonRejected,
    integer_out_of_range,
    may_exceed_64_bits,
    refuse_unkeepable,
    strict_loads,
)


@pytest.mark.parametrize(("body", "says"), [
    pytest.param(b'{"a": NaN}', "not JSON", id="nan"),
    pytest.param(b'{"a": [Infinity]}', "not JSON", id="infinity"),
    pytest.param(b'{"a": -Infinity}', "not JSON", id="minus-infinity"),
    pytest.param(b'{"a": {"b": 1e400}}', "body.a.b: number too large", id="overflowing-double"),
    pytest.param(b'{"a": [0, 18446744073709551616]}', "body.a[1]: integer out of range", id="2^64"),
    pytest.param(b'{"a": -9223372036854775809}', "body.a: integer out of range", id="below-minus-2^63"),
    pytest.param(b'{"a": "\\ud800"}', "not JSON", id="lone-high-surrogate"),
    pytest.param(b'{"a": "\\udc00x"}', "not JSON", id="lone-low-surrogate"),
    pytest.param(b'{"a": "\xff"}', "not JSON", id="not-utf8"),
    pytest.param(b'{"a": ["x", {"b": "n\\u0000l"}]}', "body.a[1].b: a NUL character", id="nul-in-text"),
    pytest.param(b'{"a\\u0000": 1}', "body: a name with a NUL character", id="nul-in-a-name"),
    pytest.param(b'{"a": 1e400, "b": "\\u0000"}', "body.a: number too large", id="the-first-problem-named"),
])
def test_refused_naming_the_place(body: bytes, says: str) -> None:
    with pytest.raises(JsonRejected, match=says.replace("[", r"\[").replace("]", r"\]")):
        strict_loads(body)


@pytest.mark.parametrize(("body", "value"), [
    pytest.param(b'{"a": 18446744073709551615}', 2**64 - 1, id="2^64-1"),
    pytest.param(b'{"a": -9223372036854775808}', -(2**63), id="minus-2^63"),
    pytest.param(b'{"a": 1.5e300}', 1.5e300, id="large-double"),
    pytest.param(b'{"a": "NaN Infinity 12345678901234567890"}', "NaN Infinity 12345678901234567890", id="in-text"),
    pytest.param(b'{"a": "\\ud83d\\ude00"}', "\U0001f600", id="surrogate-pair"),
    pytest.param(b'{"a": "\\\\u0000"}', "\\u0000", id="an-escaped-backslash-before-u0000-is-text"),
])
def test_kept_exactly(body: bytes, value: object) -> None:
    assert strict_loads(body) == {"a": value}
    refuse_unkeepable(body)


@pytest.mark.parametrize("body", [b'{"a": NaN}', b'{"a": -Infinity}', b'{"a": 1e400}', b'{"a": "\\ud800"}'])
def test_the_quick_check_refuses_what_pydantic_would_take(body: bytes) -> None:
    with pytest.raises(JsonRejected):
        refuse_unkeepable(body)


@pytest.mark.parametrize(("value", "refused"), [(2**64, True), (-(2**63) - 1, True), (2**64 - 1, False)])
def test_the_stored_form_encoder_names_integers_beyond_64_bits(value: int, refused: bool) -> None:
    try:
        stored_json({"a": value})
    except TypeError as e:
        assert refused and integer_out_of_range(e)
    else:
        assert not refused


@pytest.mark.parametrize(("body", "may"), [
    (b'{"x": 999999999999999999}', False), (b'{"x": -999999999999999999.999999999999999999}', False),
    (b'{"x": 9223372036854775808}', True), (b'{"x": -9223372036854775809}', True),
    (b'{"x": "1234567890123456789"}', True), (b'{"id": "0b7cf1f5-3a3c-4bbd-9a0d-5f7b8c1e6f01"}', False),
])
def test_a_body_that_may_hold_an_integer_beyond_64_bits_is_told(body: bytes, may: bool) -> None:
    assert may_exceed_64_bits(body) is may


@pytest.mark.parametrize(("body", "named"), [
    pytest.param(b'{"a": [1, {"b": NaN}]}', "body.a[1].b: NaN, Infinity", id="nan"),
    pytest.param(b'{"a": -Infinity}', "body.a: NaN, Infinity", id="minus-infinity"),
    pytest.param(b'{"a": {"b": "x\\udfff"}}', "body.a.b: a lone surrogate", id="lone-low-surrogate"),
    pytest.param(b'{"a": ["\xff"]}', "body.a[0]: a lone surrogate or bytes that are not UTF-8", id="not-utf8"),
    pytest.param(b'{"\\ud800": 1}', "body: a name with a lone surrogate", id="in-a-name"),
])
def test_what_no_strict_parser_takes_is_refused_naming_the_field(body: bytes, named: str) -> None:
    """The strict parsers stop at a line and column; the refusal names the field too, so the sender can find it."""
    for parse in (strict_loads, refuse_unkeepable):
        with pytest.raises(JsonRejected) as e:
            parse(body)
        assert str(e.value).startswith(named) and "not JSON" in str(e.value), str(e.value)


def test_json_cut_short_is_refused_with_its_line_and_column() -> None:
    with pytest.raises(JsonRejected, match=r"^body is not JSON .*line 1 column"):
        strict_loads(b'{"a": [NaN')


@pytest.mark.parametrize(("value", "refused"), [(2**63 - 1, False), (2**63, True), (-(2**63), False)])
def test_a_body_whose_values_may_be_looked_up_takes_database_integers(value: int, refused: bool) -> None:
    body = b'{"a": %d}' % value
    if refused:
        with pytest.raises(JsonRejected, match=r"body.a: integer out of range \(from -2\^63 to 2\^63-1\)"):
            strict_loads(body, max_int=MAX_BIGINT)
    else:
        assert strict_loads(body, max_int=MAX_BIGINT) == {"a": value}
