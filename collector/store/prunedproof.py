"""What proves the observations compaction kept of a batch against the batch's Merkle root.

The tree is RFC 6962's (collector/proof/merkle.py): a range of leaves splits at the largest power of two
below its size. Of a batch, the store keeps the kept leaves' positions and, in tree order, the root of
every maximal subtree holding no kept leaf: with the kept observations' bodies that rebuilds the
root, in at most (kept leaves) x log2(size) hashes, and usually far fewer (kept leaves sit together)."""
from __future__ import annotations

import struct
from bisect import bisect_left
from collections.abc import Sequence

from collector.proof.merkle import _node, _split

HASH = 32


def pack_positions(positions: Sequence[int]) -> bytes:
    return struct.pack(f">{len(positions)}I", *positions)


def unpack_positions(blob: bytes) -> list[int]:
    if len(blob) % 4:
        raise ValueError("kept positions: not a whole number of 4-byte integers")
    return list(struct.unpack(f">{len(blob) // 4}I", blob))


def unpack_hashes(blob: bytes) -> list[bytes]:
    if len(blob) % HASH:
        raise ValueError("pruned subtree hashes: not a whole number of 32-byte hashes")
    return [blob[i:i + HASH] for i in range(0, len(blob), HASH)]


def _any_in(positions: Sequence[int], lo: int, hi: int) -> bool:
    i = bisect_left(positions, lo)
    return i < len(positions) and positions[i] < hi


class PartialTree:
    """A batch's tree as far as it is known: some leaves, and the roots of the subtrees between them."""

    def __init__(self, size: int, leaves: dict[int, bytes], hashes: Sequence[bytes] = ()):
        self.size, self.leaves = size, leaves
        self.positions = sorted(leaves)
        self._pruned: dict[tuple[int, int], bytes] = {}
        rest = list(hashes)
        self._place(0, size, rest)
        if rest:
            raise ValueError(f"{len(rest)} pruned subtree hashes more than the tree has room for")

    @classmethod
    def whole(cls, leaves: Sequence[bytes]) -> PartialTree:
        return cls(len(leaves), dict(enumerate(leaves)))

    def _place(self, lo: int, hi: int, rest: list[bytes]) -> None:
        if not _any_in(self.positions, lo, hi):
            if not rest:
                raise ValueError("fewer pruned subtree hashes than the tree needs")
            self._pruned[(lo, hi)] = rest.pop(0)
        elif hi - lo > 1:
            k = _split(hi - lo)
            self._place(lo, lo + k, rest)
            self._place(lo + k, hi, rest)

    def hash(self, lo: int = 0, hi: int | None = None) -> bytes:
        """The root of leaves [lo, hi) (a range of the tree's own splitting); the whole tree's by default."""
        hi = self.size if hi is None else hi
        if (lo, hi) in self._pruned:
            return self._pruned[(lo, hi)]
        if hi - lo == 1:
            return self.leaves[lo]
        k = _split(hi - lo)
        return _node(self.hash(lo, lo + k), self.hash(lo + k, hi))

    def pruned_to(self, keep: Sequence[int]) -> list[bytes]:
        """The subtree roots that, with the leaves at `keep` (a subset of the known leaves), rebuild the root."""
        keep = sorted(keep)
        if missing := [p for p in keep if p not in self.leaves]:
            raise ValueError(f"leaves {missing[:5]} are not known")
        out: list[bytes] = []

        def walk(lo: int, hi: int) -> None:
            if not _any_in(keep, lo, hi):
                out.append(self.hash(lo, hi))
            elif hi - lo > 1:
                k = _split(hi - lo)
                walk(lo, lo + k)
                walk(lo + k, hi)

        if keep:
            walk(0, self.size)
        return out
