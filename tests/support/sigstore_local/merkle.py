"""An append-only RFC 6962 Merkle tree with inclusion and consistency proofs.

Example::

    tree = MerkleTree()
    tree.append(b"leaf 0"); tree.append(b"leaf 1"); tree.append(b"leaf 2")
    root = tree.root()                       # MTH(D[3])
    path = tree.inclusion_proof(1)           # PATH(1, D[3]), leaf-to-root order
    assert verify_inclusion(leaf_hash(b"leaf 1"), 1, 3, path, root)

Leaf hash = SHA-256(0x00 || data), node hash = SHA-256(0x01 || left || right) (RFC 6962 2.1).
Subtree hashes are memoised: in an append-only tree a complete (start, size) range never
changes, so proofs over a few thousand leaves stay cheap. Not thread-safe on its own; the
transparency log serialises access.
"""

from __future__ import annotations

import hashlib


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than `n` (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class MerkleTree:
    """Leaf hashes plus a cache of subtree hashes."""

    def __init__(self) -> None:
        self._leaves: list[bytes] = []
        self._cache: dict[tuple[int, int], bytes] = {}

    def __len__(self) -> int:
        return len(self._leaves)

    def append(self, data: bytes) -> int:
        """Append a leaf (its data, not its hash); returns its index."""
        self._leaves.append(leaf_hash(data))
        return len(self._leaves) - 1

    def copy(self) -> MerkleTree:
        """An independent tree with the same leaves (used to fork a "split view")."""
        other = MerkleTree()
        other._leaves = list(self._leaves)
        other._cache = dict(self._cache)
        return other

    def leaf(self, index: int) -> bytes:
        return self._leaves[index]

    def _mth(self, start: int, size: int) -> bytes:
        if size == 0:
            return hashlib.sha256(b"").digest()
        if size == 1:
            return self._leaves[start]
        cached = self._cache.get((start, size))
        if cached is not None:
            return cached
        k = _split(size)
        value = node_hash(self._mth(start, k), self._mth(start + k, size - k))
        self._cache[(start, size)] = value
        return value

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first `size` leaves (default: all)."""
        return self._mth(0, self._size(size))

    def _size(self, size: int | None) -> int:
        n = len(self._leaves) if size is None else size
        if not 0 <= n <= len(self._leaves):
            raise ValueError(f"tree size {n} out of range 0..{len(self._leaves)}")
        return n

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) (RFC 6962 2.1.1), ordered from the leaf up."""
        n = self._size(size)
        if not 0 <= index < n:
            raise ValueError(f"leaf index {index} not in a tree of size {n}")
        return self._path(index, 0, n)

    def _path(self, m: int, start: int, n: int) -> list[bytes]:
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return [*self._path(m, start, k), self._mth(start + k, n - k)]
        return [*self._path(m - k, start + k, n - k), self._mth(start, k)]

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """PROOF(first, D[second]) (RFC 6962 2.1.2)."""
        n = self._size(second)
        if not 0 < first <= n:
            raise ValueError(f"first size {first} not in 1..{n}")
        return self._subproof(first, 0, n, True)

    def _subproof(self, m: int, start: int, n: int, complete: bool) -> list[bytes]:
        if m == n:
            return [] if complete else [self._mth(start, n)]
        k = _split(n)
        if m <= k:
            return [*self._subproof(m, start, k, complete), self._mth(start + k, n - k)]
        return [*self._subproof(m - k, start + k, n - k, False), self._mth(start, k)]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: does `proof` take `leaf` (a leaf hash) at `index` to `root`?"""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root
