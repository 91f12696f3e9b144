"""Manifest lookups: which batches the numbers found belong to, counted per occurrence."""
from __future__ import annotations

import sqlite3

import pytest

from agents.pii.manifest import Manifest, ManifestError, identifier_hash, load_manifests

SALT_A, SALT_B = b"salt-a", b"salt-b"
PHONE, ID_CARD, OTHER = b"13800138000", b"11010519491231002X", b"13900000000"


def manifest(*batches: tuple[str, bytes, list[bytes]]) -> Manifest:
    m = Manifest()
    for batch_id, salt, numbers in batches:
        m.add(batch_id, salt, [identifier_hash(salt, n) for n in numbers])
    return m


@pytest.mark.parametrize("batches,numbers,expected", [
    pytest.param([("B1", SALT_A, [PHONE])], [PHONE, PHONE, OTHER], {"B1": 2}, id="each-occurrence-counts"),
    pytest.param([("B1", SALT_A, [PHONE]), ("B2", SALT_B, [PHONE, ID_CARD])], [PHONE, ID_CARD],
                 {"B1": 1, "B2": 2}, id="number-in-two-batches-counts-for-both"),
    pytest.param([("B1", SALT_A, [PHONE]), ("B2", SALT_A, [PHONE])], [PHONE], {"B1": 1, "B2": 1},
                 id="two-batches-one-salt"),
    pytest.param([("B1", SALT_A, [PHONE]), ("B1", SALT_B, [PHONE])], [PHONE], {"B1": 1},
                 id="batch-registered-twice-counts-once"),
    pytest.param([("B1", SALT_A, [PHONE])], [OTHER], {}, id="no-match"),
])
def test_count_batches(batches, numbers: list[bytes], expected: dict[str, int]) -> None:
    assert dict(manifest(*batches).count_batches(numbers)) == expected


def test_upper_case_hex_hashes_match() -> None:
    m = Manifest()
    m.add("B1", SALT_A, [identifier_hash(SALT_A, PHONE).upper()])
    assert m.count_batches([PHONE]) == {"B1": 1}


def test_the_agent_is_told_to_give_manifest_files_instead_of_a_store(tmp_path) -> None:
    store = tmp_path / "cw.db"
    sqlite3.connect(store).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(ManifestError, match=f"{store}: a clausewatch store"):
        load_manifests([store])
