"""Status colours keep text readable: WCAG contrast of at least 4.5:1 (AA for normal text)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[3] / "collector" / "web" / "static" / "style.css").read_text()
VARS = dict(re.findall(r"--([a-z]+):\s*(#[0-9a-f]{6})", CSS))


def luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize(("fg", "bg"), [
    pytest.param("#ffffff", VARS["fail"], id="fail-badge"),
    pytest.param("#ffffff", VARS["unknown"], id="unknown-badge"),
    pytest.param("#ffffff", VARS["pass"], id="pass-badge"),
    pytest.param("#ffffff", VARS["na"], id="na-badge"),
    pytest.param(VARS["muted"], VARS["bg"], id="muted-text"),
    pytest.param(VARS["accent"], "#ffffff", id="links"),
    pytest.param(VARS["fail"], "#fef3f2", id="violation-row"),
])
def test_contrast_is_at_least_aa(fg, bg):
    assert contrast(fg, bg) >= 4.5
