"""The tender's clause headings are its own words, in full: the posture page and the report show them."""
from __future__ import annotations

import re

import pytest

from rules.catalog import load_clauses
from tests.conftest import ROOT

TENDER_COPY = ROOT / "rules" / "tender" / "seed" / "tender-and-collection-plans.zh.txt"


@pytest.mark.parametrize("clause", sorted(load_clauses().values(), key=lambda c: c.order), ids=lambda c: c.id)
def test_no_clause_heading_is_shortened(clause):
    assert "…" not in clause.zh and "..." not in clause.zh


def test_clause_headings_are_verbatim_from_the_tender():
    if not TENDER_COPY.exists():
        pytest.skip("the tender's copy under rules/tender/ is not in this checkout")
    tender = re.sub(r"\s+", "", TENDER_COPY.read_text(encoding="utf-8"))
    for clause in load_clauses().values():
        assert re.sub(r"\s+", "", clause.zh) in tender, clause.id
