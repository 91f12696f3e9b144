"""Numbers that identify people or accounts never leave in a report."""
from __future__ import annotations

import pytest

from collector.reports.mask import mask, mask_text


@pytest.mark.parametrize(("text", "want"), [
    pytest.param("身份证110101199003071234复印件", "身份证110101********1234复印件", id="id-card"),
    pytest.param("ID 11010119900307123X", "ID 110101********123X", id="id-card-x"),
    pytest.param("call 13812345678 now", "call 138****5678 now", id="mobile"),
    pytest.param("card 6222021234567890123", "card 6222***********0123", id="bank-card-19"),
    pytest.param("card 6222021234567890", "card 6222********7890", id="bank-card-16"),
    pytest.param("runtime 1260 s, 2026-11-29", "runtime 1260 s, 2026-11-29", id="ordinary-numbers"),
    pytest.param("T012 host", "T012 host", id="host-ids"),
])
def test_mask_text(text, want):
    assert mask_text(text) == want


def test_mask_walks_json():
    assert mask({"a": ["13812345678", 5], "b": {"c": "x"}}) == {"a": ["138****5678", 5], "b": {"c": "x"}}
