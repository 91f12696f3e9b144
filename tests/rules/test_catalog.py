import re
import textwrap
from pathlib import Path

import pytest
import yaml

from rules.catalog import CatalogError, load_catalog, load_clauses
from rules.registry import load_checks
from tests.conftest import TENDER


def _tender_ids() -> set[str]:
    text = (TENDER / "tender-clauses.md").read_text(encoding="utf-8")
    ids = set(re.findall(r"^\| ([A-Z0-9][A-Za-z0-9.\-/]*) \|", text, re.M))
    assert len(ids) > 20, "tender-clauses.md could not be read"
    return ids


def test_every_tender_clause_has_a_control():
    covered = {cid for c in load_catalog() for cid in c.clauses}
    assert _tender_ids() - covered == set()


def test_clause_index_matches_the_tender():
    assert set(load_clauses()) == _tender_ids()


def test_text_zh_is_verbatim_from_the_seed():
    seed = re.sub(r"\s+", "", (TENDER / "seed" / "tender-and-collection-plans.zh.txt").read_text(encoding="utf-8"))
    for c in load_catalog():
        assert re.sub(r"\s+", "", c.text_zh) in seed, c.id


def test_every_control_names_an_existing_check():
    checks = load_checks()
    for c in load_catalog():
        assert (c.check or "manual_evidence") in checks


def test_controls_are_in_tender_order():
    order = {cid: c.order for cid, c in load_clauses().items()}
    firsts = [min(order[x] for x in c.clauses) for c in load_catalog()]
    assert firsts == sorted(firsts)


GOOD = """\
- id: USB-BLOCK
  clauses: [T14.2-4]
  text_zh: "禁止使用USB等接口"
  title: {zh: USB, en: USB}
  subject: host
  check: usb_storage_blocked
  severity: critical
  evidence: {zh: 设备, en: devices}
  freshness: 2h
"""


@pytest.mark.parametrize(("mutation", "line", "needle"), [
    pytest.param(("severity: critical", "severity: extreme"), 8, "severity", id="bad-enum"),
    pytest.param(("check: usb_storage_blocked", "check: no_such_check"), 6, "no check named", id="unknown-check"),
    pytest.param(("clauses: [T14.2-4]", "clauses: [T99]"), 2, "not a tender clause id", id="unknown-clause"),
    pytest.param(("freshness: 2h", "freshness: soon"), 10, "duration", id="bad-duration"),
    pytest.param(("  subject: host\n", "  subject: host\n  colour: red\n"), 6, "colour", id="unknown-key"),
    pytest.param(("title: {zh: USB, en: USB}", "title: {zh: USB, en: [USB"), 4, "YAML", id="yaml-syntax"),
])
def test_validation_errors_name_file_and_line(tmp_path: Path, mutation, line, needle):
    (tmp_path / "x.yaml").write_text(GOOD.replace(*mutation), encoding="utf-8")
    with pytest.raises(CatalogError) as e:
        load_catalog(tmp_path)
    problem = e.value.problems[0]
    assert problem.startswith(f"{tmp_path / 'x.yaml'}:"), problem
    assert needle in problem
    got_line = int(problem.split(":")[1])
    assert abs(got_line - line) <= 1, problem


def test_duplicate_ids_are_reported(tmp_path: Path):
    (tmp_path / "a.yaml").write_text(GOOD + "\n" + GOOD, encoding="utf-8")
    with pytest.raises(CatalogError) as e:
        load_catalog(tmp_path)
    assert any("already defined" in p for p in e.value.problems)


def test_manual_and_check_are_exclusive(tmp_path: Path):
    data = yaml.safe_load(GOOD)
    data[0]["manual"] = True
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogError) as e:
        load_catalog(tmp_path)
    assert "exactly one" in e.value.problems[0]


def test_good_catalog_loads(tmp_path: Path):
    (tmp_path / "ok.yaml").write_text(textwrap.dedent(GOOD), encoding="utf-8")
    [c] = load_catalog(tmp_path)
    assert c.id == "USB-BLOCK" and c.params == {}


AUDIT_CONTROL = """\
- id: DOOR-CLOSED
  clauses: [T12.2-a]
  text_zh: "大门应处于关闭状态"
  title: {zh: 门, en: Doors}
  subject: door
  check: audit_violations
  params: {PARAMS}
  severity: high
  evidence: {zh: 门禁, en: access}
  freshness: 2d
"""


@pytest.mark.parametrize(("params", "needle"), [
    pytest.param("{types: [forced_entry]}", "check 'audit_violations' needs audit_kind", id="required-missing"),
    pytest.param("{audit_kind: access.audit, types: [forced_entry], max_held_open: 60}",
                 "unknown parameter(s) max_held_open", id="undeclared"),
    pytest.param("{audit_kind: access.audit, types: [forced_entry], max_held_open_s: sixty}",
                 "max_held_open_s: must be a positive number, not 'sixty'", id="threshold-not-a-number"),
    pytest.param("{audit_kind: access.audit, types: [forced_entry], max_held_open_s: -5}",
                 "max_held_open_s: must be a positive number, not -5", id="threshold-negative"),
])
def test_params_are_those_the_check_declares(tmp_path: Path, params, needle):
    (tmp_path / "a.yaml").write_text(AUDIT_CONTROL.replace("{PARAMS}", params), encoding="utf-8")
    with pytest.raises(CatalogError) as e:
        load_catalog(tmp_path)
    [problem] = e.value.problems
    assert problem.startswith(f"{tmp_path / 'a.yaml'}:7: params: ") and needle in problem


def test_every_param_a_control_sets_is_declared_by_its_check():
    checks = load_checks()
    for c in load_catalog():
        assert set(c.params) <= set(checks[c.check or "manual_evidence"].params), c.id


def test_a_param_has_the_type_of_its_default(tmp_path: Path):
    text = GOOD.replace("  subject: host\n", "  subject: host\n  params: {block_classes: \"08\"}\n")
    (tmp_path / "x.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as e:
        load_catalog(tmp_path)
    assert "params: block_classes: must be a list, not '08'" in e.value.problems[0]
