"""Every text a page asks for exists in both languages."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from collector.web.i18n import MESSAGES, translate

TEMPLATES = Path(__file__).resolve().parents[3] / "collector" / "web" / "templates"
# keys built at run time: prefix -> the values the pages feed it
DYNAMIC = {
    "role_": ["admin", "security", "auditor", "facility", "manager"],
    "col_": ["usb", "antivirus", "mail", "internet", "software", "lingering"],
    "test_": ["usb", "eicar", "mail_canary", "internet_canary"],
    "fault_": ["offline", "low_fps", "black", "frozen", "blurred", "occluded", "moved"],
    "pii_": ["id_card", "phone", "bank_card"],
}


def _literal_keys() -> set[str]:
    keys: set[str] = set()
    for page in TEMPLATES.glob("*.html"):
        keys |= set(re.findall(r"\bt\('([a-z0-9_]+)'\)", page.read_text(encoding="utf-8")))
    return keys


@pytest.mark.parametrize("key", sorted(_literal_keys() | {p + v for p, vs in DYNAMIC.items() for v in vs}))
def test_key_has_both_languages(key):
    assert key in MESSAGES
    zh, en = MESSAGES[key]
    assert zh.strip() and en.strip()


def test_violation_names_cover_the_catalogs_audit_types():
    from rules.catalog import default_catalog

    types = {t for c in default_catalog() for t in c.params.get("types", [])}
    assert types and all(f"v_{t}" in MESSAGES for t in types)


def test_unknown_key_falls_back_to_itself():
    assert translate("no_such_key", "en") == "no_such_key"
