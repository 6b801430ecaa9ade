"""RFC 9162 §2.1 hashing, the naive reference and the proof verifiers."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.audit.merkle import (
    EMPTY_ROOT,
    InclusionMismatchError,
    InconsistentLogError,
    MalformedProofError,
    consistency_proof_naive,
    consistency_proof_size,
    inclusion_path_naive,
    inclusion_proof_size,
    leaf_hash,
    node_hash,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

# The RFC 6962 test leaves used by Certificate Transparency's reference implementations.
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def hashes(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_hash_prefixes_are_domain_separated() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert (
        node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    )
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize("size", range(1, 9))
def test_root_matches_ct_vectors(size: int) -> None:
    assert root_from_leaves(CT_LEAVES[:size]).hex() == CT_ROOTS[size - 1]


def test_empty_tree_root() -> None:
    assert root_from_leaves([]) == EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 65))
def test_every_inclusion_path_verifies(size: int) -> None:
    leaves = hashes(size)
    root = root_from_leaves([i.to_bytes(4, "big") for i in range(size)])
    for index in range(size):
        path = inclusion_path_naive(index, leaves)
        assert len(path) == inclusion_proof_size(index, size)
        verify_inclusion(leaves[index], index, size, path, root)


@pytest.mark.parametrize(("index", "size"), [(4, 5), (6, 7), (4, 6), (8, 9), (12, 13), (10, 11)])
def test_right_edge_proofs_need_step_4_b_ii(index: int, size: int) -> None:
    # A last leaf (or a leaf in the last incomplete subtree) has no right sibling at some
    # levels; the verifier must skip them (RFC 9162 §2.1.3.2 step 4.b.ii).
    leaves = hashes(size)
    root = root_from_leaves([i.to_bytes(4, "big") for i in range(size)])
    verify_inclusion(leaves[index], index, size, inclusion_path_naive(index, leaves), root)


def test_inclusion_proof_with_wrong_length_is_malformed() -> None:
    leaves = hashes(16)
    root = root_from_leaves([i.to_bytes(4, "big") for i in range(16)])
    path = inclusion_path_naive(3, leaves)
    with pytest.raises(
        MalformedProofError, match=r"^audit: inclusion proof has 5 hashes, expected 4$"
    ):
        verify_inclusion(leaves[3], 3, 16, [*path, path[0]], root)
    with pytest.raises(MalformedProofError, match="has 3 hashes, expected 4"):
        verify_inclusion(leaves[3], 3, 16, path[:3], root)
    with pytest.raises(MalformedProofError, match="hash 1 is 31 bytes, expected 32"):
        verify_inclusion(leaves[3], 3, 16, [path[0], path[1][:31], *path[2:]], root)


def test_inclusion_index_outside_tree_is_malformed() -> None:
    with pytest.raises(MalformedProofError, match="index 8 is outside a tree of size 8"):
        verify_inclusion(b"\x00" * 32, 8, 8, [], b"\x00" * 32)


def test_inclusion_proof_that_misses_the_root_is_a_mismatch() -> None:
    size = 13
    leaves = hashes(size)
    root = root_from_leaves([i.to_bytes(4, "big") for i in range(size)])
    for index in range(size):
        path = inclusion_path_naive(index, leaves)
        for k in range(len(path)):
            bad = list(path)
            bad[k] = bytes(32)
            with pytest.raises(InclusionMismatchError, match="leads to root"):
                verify_inclusion(leaves[index], index, size, bad, root)
        with pytest.raises(InclusionMismatchError):
            verify_inclusion(leaf_hash(b"other"), index, size, path, root)
        if index + 1 < size and len(path) == inclusion_proof_size(index + 1, size):
            with pytest.raises(InclusionMismatchError):
                verify_inclusion(leaves[index], index + 1, size, path, root)


@pytest.mark.parametrize("size", range(1, 65))
def test_every_consistency_proof_verifies(size: int) -> None:
    leaves = hashes(size)
    roots = [root_from_leaves([i.to_bytes(4, "big") for i in range(m)]) for m in range(size + 1)]
    for old in range(size + 1):
        proof = consistency_proof_naive(old, leaves)
        if 0 < old < size:
            assert len(proof) == consistency_proof_size(old, size)
        verify_consistency(old, size, roots[old], roots[size], proof)


def test_consistency_proof_with_wrong_length_is_malformed() -> None:
    leaves = hashes(8)
    roots = {m: root_from_leaves([i.to_bytes(4, "big") for i in range(m)]) for m in (3, 8)}
    proof = consistency_proof_naive(3, leaves)
    assert len(proof) == 4
    with pytest.raises(MalformedProofError, match=r"consistency proof has 3 hashes, expected 4"):
        verify_consistency(3, 8, roots[3], roots[8], proof[:3])
    with pytest.raises(MalformedProofError, match=r"has 1 hashes, expected 0"):
        verify_consistency(8, 8, roots[8], roots[8], [proof[0]])
    with pytest.raises(MalformedProofError, match=r"old size 9 is outside 0\.\.8"):
        verify_consistency(9, 8, roots[8], roots[8], [])


def test_inconsistent_log_is_its_own_error() -> None:
    size = 21
    leaves = hashes(size)
    other = [*leaves[:5], leaf_hash(b"rewritten"), *leaves[6:]]
    roots = [root_from_leaves([i.to_bytes(4, "big") for i in range(m)]) for m in range(size + 1)]
    for old in range(1, size):
        proof = consistency_proof_naive(old, leaves)
        for k in range(len(proof)):
            bad = list(proof)
            bad[k] = bytes(32)
            with pytest.raises(InconsistentLogError, match="rebuilds"):
                verify_consistency(old, size, roots[old], roots[size], bad)
        # The new tree rewrote leaf 5: its proof cannot join the honest old root.
        if old > 5:
            forged = consistency_proof_naive(old, other)
            with pytest.raises(InconsistentLogError):
                verify_consistency(old, size, roots[old], _mth(other), forged)
    with pytest.raises(InconsistentLogError, match="the log forked"):
        verify_consistency(size, size, roots[size], roots[size - 1], [])


def _mth(leaf_hashes: list[bytes]) -> bytes:
    if len(leaf_hashes) == 1:
        return leaf_hashes[0]
    k = 1 << ((len(leaf_hashes) - 1).bit_length() - 1)
    return node_hash(_mth(leaf_hashes[:k]), _mth(leaf_hashes[k:]))


def test_every_tree_extends_the_empty_tree() -> None:
    verify_consistency(0, 5, EMPTY_ROOT, bytes(32), [])
    with pytest.raises(MalformedProofError):
        verify_consistency(0, 5, EMPTY_ROOT, bytes(32), [bytes(32)])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 1500).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_inclusion_property_larger_trees(case: tuple[int, int]) -> None:
    size, index = case
    leaves = hashes(size)
    root = _mth(leaves)
    path = inclusion_path_naive(index, leaves)
    assert len(path) == inclusion_proof_size(index, size)
    verify_inclusion(leaves[index], index, size, path, root)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 1500).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n - 1))))
def test_consistency_property_larger_trees(case: tuple[int, int]) -> None:
    size, old = case
    leaves = hashes(size)
    proof = consistency_proof_naive(old, leaves)
    assert len(proof) == consistency_proof_size(old, size)
    verify_consistency(old, size, _mth(leaves[:old]), _mth(leaves), proof)
