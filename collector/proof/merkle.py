"""Merkle trees as in RFC 6962 (Certificate Transparency): one root per ingested batch,
so a single ledger entry commits to every observation in it and each one can be proven
included with log2(n) hashes."""
from __future__ import annotations

import hashlib

_LEAF, _NODE = b"\x00", b"\x01"


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(_LEAF + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly less than n."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def root_of_leaves(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    level = list(leaves)
    # Iterative form of RFC 6962's recursion: pair from the left, carry an odd last node up.
    while len(level) > 1:
        nxt = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def merkle_root(items: list[bytes]) -> bytes:
    return root_of_leaves([leaf_hash(x) for x in items])


def inclusion_proof(leaves: list[bytes], index: int) -> list[bytes]:
    """Audit path for leaf `index` (RFC 6962 section 2.1.1)."""
    if not 0 <= index < len(leaves):
        raise IndexError(index)
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return inclusion_proof(leaves[:k], index) + [root_of_leaves(leaves[k:])]
    return inclusion_proof(leaves[k:], index - k) + [root_of_leaves(leaves[:k])]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """Check an audit path (RFC 9162 section 2.1.3.2)."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root
