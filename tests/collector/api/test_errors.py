"""Error answers always render: what a caller sent is echoed in a form JSON in UTF-8 can carry."""
from __future__ import annotations

import json

import pytest

from collector.api.errors import SafeJSONResponse, printable


@pytest.mark.parametrize(("value", "shown"), [
    pytest.param(float("nan"), "nan", id="nan"),
    pytest.param(float("-inf"), "-inf", id="minus-infinity"),
    pytest.param("a\ud800b", "a\ufffdb", id="lone-surrogate"),
    pytest.param("\U0001f600", "\U0001f600", id="astral-kept"),
    pytest.param(b"\xff\xfeok", "\ufffd\ufffdok", id="bytes-not-utf8"),
    pytest.param(ValueError("bad\udfff"), "bad\ufffd", id="exception"),
    pytest.param({"\ud800": [1, 2.5, None, True]}, {"\ufffd": [1, 2.5, None, True]}, id="nested"),
    pytest.param(2**70, 2**70, id="big-int-kept"),
])
def test_printable(value, shown):
    assert printable(value) == shown


def test_a_detail_echoing_anything_renders():
    body = SafeJSONResponse({"detail": [{"input": {"username": "\ud800", "n": float("inf")}}]}, 422).body
    assert json.loads(body) == {"detail": [{"input": {"username": "\ufffd", "n": "inf"}}]}
