from __future__ import annotations

from datetime import timedelta

import pytest

from agents.canary import Hit, Tally, parse_listen
from tests.agents.conftest import NOW


@pytest.mark.parametrize("text, expected", [
    pytest.param("0.0.0.0:25", ("0.0.0.0", 25), id="ipv4"),
    pytest.param("[::]:587", ("::", 587), id="ipv6"),
    pytest.param("canary.dmz:443", ("canary.dmz", 443), id="name"),
])
def test_parse_listen(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["25", ":25", "host:", "host:port", "host:70000"])
def test_parse_listen_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="ADDR:PORT"):
        parse_listen(text)


def test_status_repeats_hits_for_the_window_then_forgets_them() -> None:
    tally = Tally(window_s=3600)
    tally.add(Hit("10.20.9.25:25", 25, "10.20.1.17", 40017, NOW))
    first = tally.status("dmz", ["10.20.9.25:25"], 60, NOW + timedelta(minutes=1))
    later = tally.status("dmz", ["10.20.9.25:25"], 60, NOW + timedelta(minutes=59))
    gone = tally.status("dmz", ["10.20.9.25:25"], 60, NOW + timedelta(minutes=61))
    assert first.payload["sources"] == later.payload["sources"] == ["10.20.1.17"]
    assert gone.payload["hit_count"] == 0 and gone.kind == "canary.status" and gone.subject_kind == "canary"
