"""Masking of numbers that identify people or accounts (ID card, mobile phone, bank card) in
anything a report prints. Reports go to outsiders; raw identifiers never do."""
from __future__ import annotations

import re
from typing import Any

# longest first so a bank card is not read as a phone number inside it
_PATTERNS = (
    re.compile(r"(?<!\d)(\d{6})(\d{8})(\d{3}[\dXx])(?!\d)"),  # resident ID card, 18 characters
    re.compile(r"(?<!\d)(\d{4})(\d{8,11})(\d{4})(?!\d)"),  # bank card, 16-19 digits
    re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)"),  # mainland mobile number
)


def mask_text(text: str) -> str:
    for pat in _PATTERNS:
        text = pat.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3)[-4:], text)
    return text


def mask(value: Any) -> Any:
    """Mask every string inside a JSON-like value."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value
