"""The proof compaction keeps of a batch rebuilds the batch's Merkle root from the kept observations alone."""
from __future__ import annotations

import random

import pytest

from collector.proof.merkle import leaf_hash, merkle_root
from collector.store.prunedproof import PartialTree, pack_positions, unpack_hashes, unpack_positions


def _bodies(n: int) -> list[bytes]:
    return [f'{{"i":{i}}}'.encode() for i in range(n)]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 64, 135, 1000])
def test_kept_leaves_and_pruned_roots_rebuild_the_root(size):
    rng = random.Random(size)
    bodies = _bodies(size)
    leaves = [leaf_hash(b) for b in bodies]
    whole = PartialTree.whole(leaves)
    assert whole.hash() == merkle_root(bodies)
    for _ in range(10):
        keep = sorted(rng.sample(range(size), rng.randint(1, min(size, 6))))
        hashes = whole.pruned_to(keep)
        assert len(hashes) <= len(keep) * max(1, size.bit_length())
        partial = PartialTree(size, {p: leaves[p] for p in keep}, hashes)
        assert partial.hash() == merkle_root(bodies)
        # compacted again, from the proof alone, to fewer leaves: still the same root
        fewer = keep[: max(1, len(keep) // 2)]
        again = PartialTree(size, {p: leaves[p] for p in fewer}, partial.pruned_to(fewer))
        assert again.hash() == merkle_root(bodies)


def test_a_changed_kept_leaf_or_proof_no_longer_gives_the_root():
    bodies = _bodies(40)
    leaves = [leaf_hash(b) for b in bodies]
    keep = [3, 17, 18]
    hashes = PartialTree.whole(leaves).pruned_to(keep)
    changed = {**{p: leaves[p] for p in keep}, 17: leaf_hash(b'{"i":99}')}
    assert PartialTree(40, changed, hashes).hash() != merkle_root(bodies)
    bad = list(hashes)
    bad[0] = bytes(32)
    assert PartialTree(40, {p: leaves[p] for p in keep}, bad).hash() != merkle_root(bodies)
    with pytest.raises(ValueError):
        PartialTree(40, {p: leaves[p] for p in keep}, hashes[:-1])


def test_stored_forms_round_trip():
    assert unpack_positions(pack_positions([0, 7, 4000])) == [0, 7, 4000]
    assert unpack_hashes(b"\x01" * 64) == [b"\x01" * 32] * 2
    with pytest.raises(ValueError):
        unpack_hashes(b"\x01" * 33)
