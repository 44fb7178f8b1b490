"""The Merkle tree follows RFC 6962: roots, inclusion and consistency proofs."""

from __future__ import annotations

import hashlib

import pytest

from tests.support.sigstore_local.merkle import (
    MerkleTree,
    leaf_hash,
    node_hash,
    verify_inclusion,
)


def reference_mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 2.1, written straight from the definition."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(reference_mth(leaves[:k]), reference_mth(leaves[k:]))


def verify_consistency(first: int, second: int, proof: list[bytes],
                       first_root: bytes, second_root: bytes) -> bool:
    """RFC 9162 2.1.4.2."""
    if first == second:
        return not proof and first_root == second_root
    if first & (first - 1) == 0:  # a power of two: the old root is the first node
        proof = [first_root, *proof]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


LEAVES = [f"leaf {i}".encode() for i in range(21)]


@pytest.fixture(scope="module")
def tree() -> MerkleTree:
    t = MerkleTree()
    for leaf in LEAVES:
        t.append(leaf)
    return t


def test_roots_match_the_rfc_definition(tree: MerkleTree) -> None:
    for size in range(len(LEAVES) + 1):
        assert tree.root(size) == reference_mth(LEAVES[:size])


def test_known_answer_for_the_empty_tree() -> None:
    assert MerkleTree().root().hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_every_inclusion_proof_verifies_and_a_wrong_leaf_does_not(tree: MerkleTree) -> None:
    for size in range(1, len(LEAVES) + 1):
        root = tree.root(size)
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            assert verify_inclusion(leaf_hash(LEAVES[index]), index, size, proof, root)
            assert not verify_inclusion(leaf_hash(b"other"), index, size, proof, root)
            if size > 1:
                assert not verify_inclusion(leaf_hash(LEAVES[index]), (index + 1) % size,
                                            size, proof, root)


def test_every_consistency_proof_verifies(tree: MerkleTree) -> None:
    for second in range(1, len(LEAVES) + 1):
        for first in range(1, second + 1):
            proof = tree.consistency_proof(first, second)
            assert verify_consistency(first, second, proof, tree.root(first), tree.root(second))
            if first < second:
                assert not verify_consistency(first, second, proof, leaf_hash(b"x"),
                                              tree.root(second))


def test_out_of_range_requests_raise(tree: MerkleTree) -> None:
    with pytest.raises(ValueError, match="not in a tree"):
        tree.inclusion_proof(5, 5)
    with pytest.raises(ValueError, match="out of range"):
        tree.root(len(LEAVES) + 1)
    with pytest.raises(ValueError, match="first size"):
        tree.consistency_proof(0, 3)


def test_copy_is_independent(tree: MerkleTree) -> None:
    fork = tree.copy()
    fork.append(b"only in the fork")
    assert len(fork) == len(tree) + 1
    assert fork.root(len(tree)) == tree.root()
