"""Batches as senders write them are prepared by a shorter path (`collector.ingest._clean_rows`): it must give
exactly the rows and refusals of the path that checks every field with `Observation` (`_checked_rows`)."""
from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from pydantic import TypeAdapter

from collector.auth import Principal
from collector.ingest import _SENDERS_TIME, BatchRejected, _checked_rows, _clean_rows, _stored_time, prepare

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
AGENT = Principal("agent", "T001", site="branch-7", host_id="T001")
ADMIN = Principal("user", "alice", "admin")
SOURCE = Principal("source", "camera-worker", site="branch-7", subject_kinds=frozenset({"camera", "zone", "site"}))


def observation(i: int = 0, **fields: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "source": "claimed", "site": "claimed", "subject_kind": "host",
            "subject_id": "T001", "kind": "usb.devices", "observed_at": f"2026-11-29T10:{i % 60:02d}:00.123456+08:00",
            "seq": i, "payload": {"enforcement": "sysfs", "devices": [{"vendor_id": "046d", "classes": ["03"]}]},
            **fields}


def body(*changed: dict[str, Any], raw: bytes | None = None) -> bytes:
    """Three good observations and then `changed` ones (or the raw bytes of one in their place)."""
    good = [observation(i) for i in range(3)]
    if raw is not None:
        return orjson.dumps({"observations": good})[:-2] + b"," + raw + b"]}"
    return json.dumps({"observations": good + list(changed)}, ensure_ascii=False).encode()  # any integer


def outcome(prepare_rows: Callable[..., Any], data: bytes, principal: Principal, max_skew_s: float = 300.0,
            max_batch: int = 5000) -> tuple[Any, ...]:
    try:
        return ("rows", prepare_rows(data, principal, max_batch, NOW, max_skew_s))
    except BatchRejected as e:
        return ("refused", e.status, e.detail)


def assert_as_checked(data: bytes, principal: Principal = ADMIN, max_skew_s: float = 300.0) -> tuple[Any, ...]:
    got = outcome(prepare, data, principal, max_skew_s)
    assert got == outcome(_checked_rows, data, principal, max_skew_s)
    return got


@pytest.mark.parametrize("principal", [AGENT, ADMIN], ids=["agent", "user"])
def test_a_senders_batch_takes_the_short_path_to_the_same_rows(principal: Principal) -> None:
    data = body(observation(7, kind="antivirus.status", key="av", seq=None,
                            payload={"installed": True, "signature_time": "2026-11-28T01:00:00+08:00",
                                     "z": {"b": 1, "a": [1.5, None, "中文"]}}),
                observation(8, observed_at="2026-11-29T02:00:00+00:00", evidence=[
                    {"sha256": "a" * 64, "name": "photo.jpg", "size": 3}]),
                observation(9, observed_at="2026-11-28T20:00:00-00:00"),
                observation(10, observed_at="2026-11-29T10:00:00.000000+08:00"))
    assert _clean_rows(data, principal, 5000, NOW, 300.0) is not None
    kind, rows = assert_as_checked(data, principal)
    assert kind == "rows" and len(rows) == 7


@pytest.mark.parametrize("change", [
    {"observed_at": "2026-11-29T10:00:00"}, {"observed_at": "2026-11-29T02:00:00Z"},
    {"observed_at": "2026-11-29T10:00:00.5+08:00"}, {"observed_at": "2026-11-29T10:00:00+08:00:00"},
    {"observed_at": "2026-11-29 10:00:00+08:00"}, {"observed_at": "2026-11-29T10:00+08:00"},
    {"observed_at": "2026-02-29T10:00:00+08:00"}, {"observed_at": "2028-02-29T10:00:00+08:00"},
    {"observed_at": "2026-11-31T10:00:00+08:00"}, {"observed_at": "2026-11-29T24:00:00+08:00"},
    {"observed_at": "2026-11-29T23:59:60+08:00"}, {"observed_at": "2026-11-29T10:00:00+08:60"},
    {"observed_at": "2026-11-29T10:00:00+24:00"}, {"observed_at": "2026-11-29T10:00:00+23:59"},
    {"observed_at": "2026-11-29T10:00:00+08:00\n"}, {"observed_at": "１９７０-01-01T00:00:00+00:00"},
    {"observed_at": "1970-01-01T00:00:00+00:00"}, {"observed_at": "1970-01-01T07:59:59.999999+08:00"},
    {"observed_at": "1969-12-31T23:59:59-00:01"}, {"observed_at": "2999-12-31T23:59:59.999999+00:00"},
    {"observed_at": "2026-11-29T03:05:00+00:00"}, {"observed_at": "2026-11-29T03:05:00.000001+00:00"},
    {"observed_at": 1795000000}, {"observed_at": None}, {"received_at": "2026-11-29T10:00:00+08:00"},
    {"received_at": "2026-11-29T10:00:00"}, {"received_at": None},
    {"id": "abc\u0000defgh"}, {"source": "a\u0000"}, {"site": "\u0000"}, {"key": "k\u0000"},
    {"payload": {"note": "\u0000"}}, {"payload": {"note": "\\u0000"}}, {"id": "short"}, {"id": "x" * 65},
    {"subject_id": "T001\n"}, {"subject_id": "T002"}, {"subject_id": "T 1"}, {"subject_kind": "camera"},
    {"subject_kind": "nonsense"}, {"kind": "ups.status"}, {"kind": "agent.sequence"}, {"kind": "no.such"},
    {"kind": "USB.devices"}, {"kind": "camera.health", "subject_kind": "camera", "subject_id": "C1"},
    {"payload": {"devices": [{"authorized": "yes"}]}}, {"payload": []}, {"kind": "usb.block", "payload": None},
    {"kind": "usb.block", "payload": [1]}, {"kind": "usb.block", "payload": {"any": [None]}},
    {"payload": {"big": 2**64}},
    {"payload": {"big": 2**64 - 1}}, {"payload": {"small": -(2**63)}}, {"seq": 2**63}, {"seq": -1}, {"seq": 1.0},
    {"seq": "5"}, {"evidence": [{"sha256": "x", "name": "n", "size": 1}]}, {"unknown": 1}, {"key": "k" * 201},
    {"source": ""}, {"site": "s" * 101}, {"payload": {"ü": "\U0001f600", "é": "\u2028", "k": "\\u0000"}},
])
@pytest.mark.parametrize("principal", [AGENT, ADMIN, SOURCE], ids=["agent", "user", "source"])
def test_every_other_batch_gets_what_every_field_checked_gives(change: dict[str, Any], principal: Principal) -> None:
    assert_as_checked(body(observation(5, **change)), principal)


@pytest.mark.parametrize("raw", [
    b'{"payload": {"x": NaN}}', b'{"payload": {"x": Infinity}}', b'{"payload": {"x": -Infinity}}',
    b'{"payload": {"x": 1e400}}', b'{"payload": {"x": 1' + b"0" * 400 + b'}}', b'{"payload": {"x": 1e-400}}',
    b'{"payload": {"x": 123456789012345678901234567890}}', b'{"payload": {"x": "\\ud800"}}',
    b'{"payload": {"x": "\xff"}}', b'{"payload": ' + b"[" * 300 + b"]" * 300 + b"}",
    b'{"payload": {"x": ' + b"[" * 190 + b"]" * 190 + b"}}", b'{"payload": {"x": 1, "x": 2}}',
    b'{"payload": {"x": "\\u00e9\\"\\\\\\/\\b\\f\\n\\r\\t"}}',
    b'{"payload": {"x": 1}, "payload": {"y": 2}}', b'{"payload": {"x": 1}, "payload": null}',
    b'{"payload": null, "payload": {"x": 1}}', b'{"payload": {"x": {"a": 1, "a": [2]}, "x": {"b": 3}}}',
    b'{"payload": null}', b'{"payload": []}', b'{"payload": "x"}', b'{"payload": {}}',
    b'{"payload": {"card": "6222021234567890123"}}', b'{"payload": {"x": 922337203685477580}}',
    b'{"payload": {"x": 9223372036854775807, "y": -9223372036854775808, "z": 18446744073709551615}}',
    b'{"payload": {"x": -9223372036854775809}}', b'{"payload": {"x": 1.0, "y": -0.0, "z": -0, "w": 1E5}}',
    b'{"payload": {"f": [0.1, 0.30000000000000004, 2.2250738585072011e-308, 2.2250738585072012e-308, 5e-324,'
    b' 4.9406564584124654e-324, 2.4703282292062328e-324, 2.4703282292062327e-324, 1e23, 9007199254740993,'
    b' 9007199254740993.0, 8.98846567431158e307, 1.7976931348623157e308, 1.7976931348623158e308, 123456789e-5,'
    b' 7.038531e-26, 3.4028235677973366e38]}}',
    b'{"payload": {"x": 1.00000000000000011102230246251565404236316680908203125}}',
    b'{"payload": {"big": 1.7976931348623159e308}}', b'{"payload": {"x": 1}, "kind": "usb.devices", "kind": "x"}',
])
def test_every_number_and_string_is_judged_as_when_checked(raw: bytes) -> None:
    good = observation(5)
    del good["payload"]
    assert_as_checked(body(raw=orjson.dumps(good)[:-1] + b"," + raw[1:]))


def test_a_batch_given_twice_is_the_last_one_as_when_checked() -> None:
    first, last = body(observation(1)), body(observation(2, payload={"devices": []}))
    assert_as_checked(first[:-1] + b', "observations": ' + last[len(b'{"observations":'):])
    assert_as_checked(first[:-1] + b', "observations": [' + b", ".join([b'{"payload": {}}'] * 4) + b"]}")


@pytest.mark.parametrize("data", [
    b"", b"{", b"[]", b'{"observations": []}', b'{"observations": {}}', b'{"observations": [1]}',
    b'{"observations": [], "x": 1}', b'\xef\xbb\xbf{"observations": []}',
])
def test_bodies_that_are_not_batches_are_refused_as_when_checked(data: bytes) -> None:
    assert assert_as_checked(data)[0] == "refused"


def test_the_limits_are_those_of_the_checked_path() -> None:
    data = body(*(observation(i) for i in range(3, 10)))
    for limit in (9, 10, 11):
        assert outcome(prepare, data, ADMIN, max_batch=limit) == outcome(_checked_rows, data, ADMIN, max_batch=limit)
    ahead = body(observation(3, observed_at="2026-11-29T03:00:01+00:00"))
    for skew in (0.0, 0.5, 1.0, 1e-7):
        assert_as_checked(ahead, ADMIN, skew)


def _senders_texts() -> list[str]:
    offsets = [f"{sign}{h:02d}:{m:02d}" for sign in "+-" for h in range(0, 26) for m in range(0, 62)]
    days = [f"{y}-{mo:02d}-{d:02d}" for y in (1970, 2024, 2026, 2100, 2999) for mo in range(0, 14)
            for d in (0, 1, 28, 29, 30, 31, 32)]
    times = [f"T{h:02d}:{m:02d}:{s:02d}{f}" for h in (0, 12, 23, 24) for m in (0, 59, 60) for s in (0, 59, 60)
             for f in ("", ".000000", ".000001", ".999999")]
    return ([f"2026-11-29T10:00:00{o}" for o in offsets] + [f"{d}T10:00:00+08:00" for d in days]
            + [f"2026-11-29{t}-00:00" for t in times] + [f"1970-01-01{t}+05:30" for t in times])


def test_pydantic_reads_every_time_of_the_senders_form_as_the_standard_library_does() -> None:
    """The short path reads `observed_at` with `datetime.fromisoformat`; where that reads a text of the
    senders' form, pydantic (which `Observation` uses) must read the same moment and offset, and the stored
    text must be the one `isoformat` writes of pydantic's."""
    texts = [t for t in _senders_texts() if re.match(_SENDERS_TIME, t)]
    assert len(texts) > 3000
    read = TypeAdapter(datetime)
    compared = 0
    for text in texts:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            continue
        theirs = read.validate_python(text)
        assert (theirs, theirs.utcoffset()) == (moment, moment.utcoffset()), text
        assert _stored_time(text, moment) == theirs.isoformat(), text
        compared += 1
    assert compared > 2500


def test_a_time_beyond_what_the_senders_form_allows_is_left_to_pydantic() -> None:
    for text in ("2026-11-29T10:00:00+08:60", "2026-11-29T10:00:00+24:00", "0001-01-01T00:00:00+00:00",
                 "2026-11-29T10:00:00.1234567+08:00", "2026-11-29t10:00:00+08:00"):
        assert not re.match(_SENDERS_TIME, text), text
    later = NOW + timedelta(days=1)
    assert_as_checked(body(observation(3, observed_at=later.isoformat())))


def test_numbers_are_read_as_pydantic_reads_them() -> None:
    """The short path takes payloads from orjson's parse: every number of up to 18 digits must come out as
    the one pydantic reads, to the last bit."""
    rng = random.Random(15)
    texts = []
    for _ in range(4000):
        digits = str(rng.randrange(1, 10 ** rng.randint(1, 18)))
        point = rng.randint(0, len(digits))
        exponent = rng.choice(["", f"e{rng.randint(-330, 285)}", f"E+{rng.randint(0, 285)}", f"e-{rng.randint(0, 40)}"])
        texts.append(f"{rng.choice(['', '-'])}{digits[:point] or '0'}.{digits[point:] or '0'}{exponent}")
    raw = ("[" + ", ".join(texts) + "]").encode()
    data = body(raw=orjson.dumps(observation(5, payload={}))[:-2] + b'"numbers": ' + raw + b"}}")
    assert _clean_rows(data, ADMIN, 5000, NOW, 300.0) is not None
    assert assert_as_checked(data)[0] == "rows"


@pytest.mark.parametrize("change", [
    {"seq": True}, {"seq": False}, {"seq": 5.0}, {"seq": "7"}, {"id": 12345678}, {"key": None}, {"key": 5},
    {"site": None}, {"source": 5}, {"subject_id": 1001}, {"subject_kind": ["host"]}, {"kind": None},
    {"evidence": [{"sha256": "a" * 64, "name": "photo.jpg", "size": 3.0}]},
    {"evidence": [{"sha256": "a" * 64, "name": "photo.jpg", "size": "3"}]},
    {"evidence": [{"sha256": "a" * 64, "name": "photo.jpg", "size": True}]},
    {"evidence": [{"sha256": "a" * 64, "name": "photo.jpg", "size": 3, "media_type": 5}]},
    {"evidence": {"sha256": "a" * 64, "name": "photo.jpg", "size": 3}}, {"evidence": None},
])
@pytest.mark.parametrize("principal", [AGENT, ADMIN], ids=["agent", "user"])
def test_a_value_of_another_json_type_than_the_senders_form_is_judged_as_when_checked(
        change: dict[str, Any], principal: Principal) -> None:
    """The short path reads fields only of the JSON type senders write them in: a value pydantic would
    convert (a whole number written 5.0 or "7", true for a number) is left to the checked path."""
    data = body(observation(5, **change))
    assert _clean_rows(data, principal, 5000, NOW, 300.0) is None
    assert_as_checked(data, principal)


@pytest.mark.parametrize("data", [
    b'{"observations": null}', b'{"observations": "x"}', b'[{"observations": []}]', b'"observations"', b"null",
    b'{"observations": [null]}', b'{"observations": [[]]}', b'{"observations": [{"observations": []}]}',
])
def test_bodies_of_another_shape_are_left_to_the_checked_path(data: bytes) -> None:
    assert _clean_rows(data, ADMIN, 5000, NOW, 300.0) is None
    assert assert_as_checked(data)[0] == "refused"
