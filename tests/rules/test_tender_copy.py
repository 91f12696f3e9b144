"""The project's copy of the tender (rules/tender/) is the shared original, byte for byte, when that is at hand."""
import os
from pathlib import Path

import pytest

from tests.conftest import ROOT, TENDER

# the originals sit beside a checkout of the project's own workspace; a clone on its own has none
SHARED = Path(os.environ.get("CLAUSEWATCH_SHARED", ROOT.parent / "shared"))
COPIED = ["tender-clauses.md", "seed/tender-and-collection-plans.zh.txt"]


@pytest.mark.parametrize("name", COPIED)
def test_copy_matches_the_shared_original(name: str):
    original = SHARED / name
    if not original.is_file():
        pytest.skip(f"no shared original at {original}: nothing to compare the copy with")
    assert (TENDER / name).read_bytes() == original.read_bytes(), (
        f"rules/tender/{name} differs from {original}: copy the original again")

