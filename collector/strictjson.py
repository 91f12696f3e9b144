"""Decoding JSON from senders: only what the store can keep exactly is accepted.

Python's own decoder takes NaN, Infinity, numbers that overflow a double and lone surrogates;
the canonical encoder then writes NaN as null (a stored value the sender never sent) and fails on
integers beyond 64 bits or on lone surrogates (a 500 after the batch was accepted), and PostgreSQL
refuses a NUL (`\\u0000`) in any text, also one it is only asked to compare with. Every request
body is held to `strict_loads` (collector.api.bodyguard); the observation batch, validated straight
from its bytes in a worker process, to the cheaper `refuse_unkeepable` and the encoder's own range.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson
import pydantic_core

MIN_INT = -(2**63)  # the canonical encoder's range: signed and unsigned 64-bit integers
MAX_INT = 2**64 - 1
MAX_BIGINT = 2**63 - 1  # what a database's integer column (SQLite INTEGER, PostgreSQL BIGINT) holds
_LARGEST = {MAX_INT: "2^64-1", MAX_BIGINT: "2^63-1"}
# a number that may be out of range has 19 or more digits, or a three-digit exponent; a body
# without one (most) is not walked at all
_MAYBE_OUT_OF_RANGE = re.compile(rb"\d{19}|[eE][+-]?\d{3}")


_DIGITS_AS_NOUGHT = bytes.maketrans(b"123456789", b"000000000")


class JsonRejected(ValueError):
    """The body is not JSON the store can keep; the message says where."""


def strict_loads(body: bytes, max_int: int = MAX_INT) -> Any:
    """The JSON document in `body` (UTF-8), or JsonRejected naming the first problem. `max_int`: the largest
    integer taken (MAX_BIGINT where a value may be looked up in the store: SQLite cannot bind a larger one)."""
    try:
        data = pydantic_core.from_json(body, allow_inf_nan=False)
    except ValueError as e:
        raise located(body, e) from None
    numbers, nul = _MAYBE_OUT_OF_RANGE.search(body) is not None, b"\\u0000" in body
    if numbers or nul:
        _check_values(data, "body", numbers=numbers, nul=nul, max_int=max_int)
    return data


def refuse_unkeepable(body: bytes) -> None:
    """JsonRejected if `body` holds NaN, Infinity, a number that overflows a double, a lone surrogate or
    bytes that are not UTF-8: orjson's parser refuses them at a fraction of what validation costs, so
    a route that builds models straight from the bytes keeps its speed. It reads integers beyond 64
    bits as doubles: those are refused where the stored form is encoded (`integer_out_of_range`)."""
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise located(body, e) from None


def integer_out_of_range_at(value: Any, where: str) -> str | None:
    """Where in `value` the first integer beyond the stored form's range is: what the encoder's refusal
    (`integer_out_of_range`) does not say. Paid only on refusal."""
    if isinstance(value, dict):
        return next((f for k, v in value.items() if (f := integer_out_of_range_at(v, f"{where}.{k}"))), None)
    if isinstance(value, list):
        return next((f for i, v in enumerate(value) if (f := integer_out_of_range_at(v, f"{where}[{i}]"))), None)
    if isinstance(value, int) and not isinstance(value, bool) and not MIN_INT <= value <= MAX_INT:
        return where
    return None


def located(body: bytes, e: Exception) -> JsonRejected:
    """The refusal of a body a strict parser refused (`e`), naming the field that holds NaN, Infinity, a number
    that overflows a double, a lone surrogate or bytes that are not UTF-8 when Python's lenient parser, which
    takes all of them, finds one: else (JSON cut short, say) the parser's line and column. Paid only on refusal."""
    plain = f"body is not JSON (NaN and Infinity are not JSON either): {e}"
    try:
        found = _first_unparsable(json.loads(body.decode("utf-8", "surrogateescape")), "body")
    except (ValueError, RecursionError):
        found = None
    return JsonRejected(plain if found is None else f"{found}; {plain}")


def _first_unparsable(value: Any, where: str) -> str | None:
    """Where in `value` (read leniently) the first value a strict parser refuses is, and what it is."""
    if isinstance(value, dict):
        for k, v in value.items():
            if _unpaired(k):
                return f"{where}: a name with a lone surrogate or bytes that are not UTF-8"
            if (found := _first_unparsable(v, f"{where}.{k}")) is not None:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if (found := _first_unparsable(v, f"{where}[{i}]")) is not None:
                return found
    elif isinstance(value, str) and _unpaired(value):
        return f"{where}: a lone surrogate or bytes that are not UTF-8"
    elif isinstance(value, float) and not math.isfinite(value):
        return f"{where}: NaN, Infinity or a number too large for a double"
    return None


def _unpaired(text: str) -> bool:
    """Whether `text` holds a surrogate code point: read from JSON, a lone one (a pair is read as one character),
    or an undecodable byte kept by surrogateescape."""
    return not text.isascii() and any("\ud800" <= c <= "\udfff" for c in text)


def may_exceed_64_bits(body: bytes) -> bool:
    """Whether `body` may hold an integer beyond 64 bits, which orjson's parser reads as a double: it has 19 digits
    or more in a row (2**63 has 19). A regular expression costs twenty times as much on a batch."""
    return b"0" * 19 in body.translate(_DIGITS_AS_NOUGHT)


def integer_out_of_range(e: Exception) -> bool:
    """Whether the stored form's encoder (`collector.proof.canonical.stored_json`) failed on an integer beyond
    64 bits."""
    return isinstance(e, TypeError) and "Integer exceeds 64-bit range" in str(e)


def _check_values(value: Any, where: str, *, numbers: bool, nul: bool, max_int: int = MAX_INT) -> None:
    """JsonRejected naming the first integer or double out of range (`numbers`), or text with a NUL in it
    (`nul`: no stored text may hold one; PostgreSQL refuses it), in `value`."""
    if isinstance(value, dict):
        for k, v in value.items():
            if nul and "\x00" in k:
                raise JsonRejected(f"{where}: a name with a NUL character (\\u0000), which no stored text may hold")
            _check_values(v, f"{where}.{k}", numbers=numbers, nul=nul, max_int=max_int)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_values(v, f"{where}[{i}]", numbers=numbers, nul=nul, max_int=max_int)
    elif isinstance(value, str):
        if nul and "\x00" in value:
            raise JsonRejected(f"{where}: a NUL character (\\u0000), which no stored text may hold")
    elif not numbers or isinstance(value, bool):
        return
    elif isinstance(value, int) and not MIN_INT <= value <= max_int:
        raise JsonRejected(f"{where}: integer out of range (from -2^63 to {_LARGEST.get(max_int, max_int)})")
    elif isinstance(value, float) and not math.isfinite(value):
        raise JsonRejected(f"{where}: number too large for a double")
