"""Merkle trees against RFC 6962's known answers: the Certificate Transparency reference tree (eight
leaves given as hex, roots of its first 0..8 leaves, audit paths), re-derived here from the RFC's
definitions by a second, independent implementation of MTH and PATH (sections 2.1 and 2.1.1)."""
from __future__ import annotations

import hashlib

import pytest

from collector.proof.merkle import inclusion_proof, leaf_hash, merkle_root, root_of_leaves, verify_inclusion

LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                     "606162636465666768696a6b6c6d6e6f")]
# MTH of the first n leaves, n = 0..8, as the CT reference tests publish them
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index from 0, tree size, audit path): the CT reference inclusion proofs
PATHS = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]


def _mth(data: list[bytes]) -> bytes:
    """RFC 6962 section 2.1, written from the text: recursion on the largest power of two < n."""
    n = len(data)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1 << ((n - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _mth(data[:k]) + _mth(data[k:])).digest()


def _path(m: int, data: list[bytes]) -> list[bytes]:
    """RFC 6962 section 2.1.1, PATH(m, D[n])."""
    n = len(data)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    return _path(m, data[:k]) + [_mth(data[k:])] if m < k else _path(m - k, data[k:]) + [_mth(data[:k])]


@pytest.mark.parametrize("n", range(9))
def test_roots_of_the_reference_tree(n):
    assert _mth(LEAVES[:n]).hex() == ROOTS[n]  # the independent derivation agrees with the published value
    assert merkle_root(LEAVES[:n]).hex() == ROOTS[n]


@pytest.mark.parametrize(("index", "size", "path"), PATHS, ids=[f"leaf{i}-of-{n}" for i, n, _ in PATHS])
def test_reference_inclusion_proofs(index, size, path):
    leaves = [leaf_hash(x) for x in LEAVES[:size]]
    assert [p.hex() for p in _path(index, LEAVES[:size])] == path
    assert [p.hex() for p in inclusion_proof(leaves, index)] == path
    root = bytes.fromhex(ROOTS[size])
    assert verify_inclusion(leaves[index], index, size, [bytes.fromhex(p) for p in path], root)
    assert not verify_inclusion(leaves[index], index, size, [bytes.fromhex(p) for p in path],
                                bytes.fromhex(ROOTS[size - 1]))
    if size > 1:
        other = (index + 1) % size
        assert not verify_inclusion(leaves[other], index, size, [bytes.fromhex(p) for p in path], root)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 9, 16, 31, 33])
def test_larger_trees_agree_with_the_rfc_recursion(n):
    data = [bytes([i, i * 7 % 256]) for i in range(n)]
    leaves = [leaf_hash(x) for x in data]
    assert root_of_leaves(leaves) == _mth(data)
    for i in range(n):
        assert inclusion_proof(leaves, i) == _path(i, data)
