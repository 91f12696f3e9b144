"""The one catalog: every message a page or a report asks for exists in zh-CN and en, and every
message in it is asked for somewhere."""
from __future__ import annotations

import ast
import re
import string
from pathlib import Path
from typing import get_args

import pytest

from agents.pii.detect import KINDS as PII_KINDS
from camera.health import FAULTS
from collector.auth import ENROLLMENT_EVENTS, ROLES
from collector.i18n import CatalogError, MissingMessage, Translator, messages, read_catalog, translate
from collector.people.batches import HOST_STATUSES
from collector.reports.build import FORMATS
from collector.web.views.terminals import COLUMNS
from rules.model import STATUSES, SUBJECT_KINDS, Control, Severity

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = [*(ROOT / "collector" / "web" / "templates").glob("*.html"),
             *(ROOT / "collector" / "reports" / "templates").glob("*.html")]
CODE = [p for d in ("collector", "rules") for p in (ROOT / d).rglob("*.py")]
OUTPUT_CODE = [p for d in ("web", "reports", "i18n") for p in (ROOT / "collector" / d).rglob("*.py")]
CERTIFICATE_STATUSES = ("in_commission", "purged", "not_purged", "unproven")
TIMELINE_TESTS = ("usb", "eicar", "mail_canary", "internet_canary")  # collector/web/timeline.py


def _audit_types() -> set[str]:
    from rules.catalog import default_catalog

    return {t for c in default_catalog() for t in c.params.get("types", [])}


# keys the pages build from data: prefix -> where its values come from (the values must all have words)
FAMILIES: dict[str, tuple[str, ...]] = {
    "role_": tuple(ROLES),
    "col_": tuple(COLUMNS),
    "test_": TIMELINE_TESTS,
    "fault_": FAULTS,
    "pii_": PII_KINDS,
    "format_": tuple(FORMATS),
    "cert_": (*CERTIFICATE_STATUSES, *HOST_STATUSES),
    "v_": tuple(sorted(_audit_types())),
}
# values shown as they came when the catalog has no words for them (t.value): a UPS may send any flag
OPEN_FAMILIES = ("nut_flag_", "nut_")
# bare keys the pages take from stored data (t(f.status), t(kind), t(e.type), ...)
DATA_KEYS = {*STATUSES, "excepted", "no_data", *SUBJECT_KINDS, *get_args(Severity),
             *get_args(Control.model_fields["attestation"].annotation), *ENROLLMENT_EVENTS}


def _template_keys() -> set[str]:
    keys: set[str] = set()
    for page in TEMPLATES:
        keys |= set(re.findall(r"\bt\('([^']+)'\s*[,)]", page.read_text(encoding="utf-8")))
    return keys


def _code_keys() -> set[str]:
    """Literal keys handed to translate(), bad_request() and PageError() in the code."""
    keys: set[str] = set()
    for path in CODE:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            at = {"translate": 0, "bad_request": 0, "PageError": 1}.get(name)
            if at is not None and len(node.args) > at and isinstance(node.args[at], ast.Constant) \
                    and isinstance(node.args[at].value, str):
                keys.add(node.args[at].value)
    return keys


def _literals() -> set[str]:
    """Every quoted string in the templates' expressions and in the code of the pages, the reports and
    the catalog: a message none of them names is unused."""
    found: set[str] = set()
    for page in TEMPLATES:
        for block in re.findall(r"\{\{.*?\}\}|\{%.*?%\}", page.read_text(encoding="utf-8"), re.S):
            found |= set(re.findall(r"'([^']*)'", block)) | set(re.findall(r'"([^"]*)"', block))
    for path in OUTPUT_CODE:
        found |= {n.value for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                  if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return found


def test_every_message_has_both_languages():
    for key, (zh, en) in read_catalog().items():
        assert zh.strip() and en.strip(), key


def test_both_languages_of_a_message_take_the_same_parameters():
    def names(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    differ = sorted(key for key, (zh, en) in messages().items() if names(zh) != names(en))
    assert not differ, f"zh and en fill in different {{names}}: {differ}"


def test_the_pages_reports_and_code_ask_for_no_missing_message():
    wanted = _template_keys() | _code_keys() | DATA_KEYS | {p + v for p, vs in FAMILIES.items() for v in vs}
    missing = sorted(k for k in wanted if k not in messages())
    assert not missing, f"no words in zh and en for: {missing}"


def test_no_message_is_unused():
    families = (*FAMILIES, *OPEN_FAMILIES)
    named = _literals() | _code_keys() | DATA_KEYS
    unused = sorted(k for k in messages()
                    if k not in named and not any(k.startswith(p) and p in named for p in families))
    assert not unused, f"messages nothing asks for: {unused}"


def test_a_family_key_is_only_ever_one_of_its_values():
    stray = sorted(k for k in messages() for p, vs in FAMILIES.items() if k.startswith(p) and k[len(p):] not in vs
                   and k not in _template_keys() | _code_keys() | DATA_KEYS)
    assert not stray, f"messages for values that never occur: {stray}"


def test_a_missing_key_is_an_error_not_the_key_itself():
    with pytest.raises(MissingMessage, match="no_such_key"):
        translate("no_such_key", "en")
    with pytest.raises(MissingMessage):
        Translator("zh")("no_such_key")


def test_data_without_words_is_shown_as_it_came():
    t = Translator("en")
    assert t.value("nut_flag_", "OB") == "on battery" and t.value("nut_flag_", "TRIM") == "TRIM"


@pytest.mark.parametrize("lang, text", [("zh", "违规"), ("en", "fail")])
def test_the_settled_term_for_a_failing_control(lang, text):
    assert translate("fail", lang) == text


def test_parameters_are_filled_in():
    assert translate("duration_days", "zh", n="1.5") == "1.5 天"
    assert translate("duration_days", "en", n="1.5") == "1.5 d"


@pytest.mark.parametrize("entry", ['x = ["only one"]', 'x = ["", "empty zh"]', 'x = "not a pair"',
                                   'x = ["zh", 3]'])
def test_a_malformed_catalog_is_refused_naming_the_key(tmp_path, entry):
    path = tmp_path / "messages.toml"
    path.write_text(entry + "\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"messages\.toml: x:"):
        read_catalog(path)


def test_violation_names_cover_the_catalogs_audit_types():
    assert _audit_types() and all(f"v_{t}" in messages() for t in _audit_types())
