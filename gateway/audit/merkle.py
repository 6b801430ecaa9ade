"""RFC 9162 §2.1 Merkle tree hashing, a naive reference, and the proof verifiers.

Pure: no I/O. The naive functions (`root_from_leaves`, `inclusion_path_naive`,
`consistency_proof_naive`) follow the RFC's recursive definitions literally and exist to
test the incremental tree (`gateway.audit.tree`) against; they are O(n).

Errors, one tree (each message names the check and says expected vs got)::

    AuditProofError               a proof does not verify
    ├── MalformedProofError       wrong number of hashes, a hash not 32 bytes, bad sizes
    ├── InclusionMismatchError    a well-formed inclusion proof that misses the root
    └── InconsistentLogError      a well-formed consistency proof that does not join the roots
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import NewType

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "AuditProofError",
    "InclusionMismatchError",
    "InconsistentLogError",
    "LeafHash",
    "MalformedProofError",
    "RootHash",
    "consistency_proof_naive",
    "consistency_proof_size",
    "inclusion_path_naive",
    "inclusion_proof_size",
    "leaf_hash",
    "node_hash",
    "root_from_leaves",
    "verify_consistency",
    "verify_inclusion",
]

LeafHash = NewType("LeafHash", bytes)
RootHash = NewType("RootHash", bytes)

HASH_SIZE = 32
# RFC 9162 §2.1.1: MTH({}) = SHA-256() (the hash of the empty string).
EMPTY_ROOT = RootHash(hashlib.sha256(b"").digest())

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class AuditProofError(Exception):
    """A Merkle proof does not verify."""


class MalformedProofError(AuditProofError):
    """The proof cannot be a proof for these sizes (wrong length, bad hash size)."""


class InclusionMismatchError(AuditProofError):
    """The inclusion proof is well formed but does not lead to the given root."""


class InconsistentLogError(AuditProofError):
    """The consistency proof is well formed but does not join the old root to the new one."""


# ---- RFC 9162 §2.1.1: hashing -----------------------------------------------------------


def leaf_hash(leaf: bytes) -> LeafHash:
    """MTH({d(0)}) = SHA-256(0x00 || d(0))."""
    return LeafHash(hashlib.sha256(_LEAF_PREFIX + leaf).digest())


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || MTH(left) || MTH(right))."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1), RFC 9162 §2.1.1's k."""
    return 1 << ((n - 1).bit_length() - 1)


# ---- naive reference (for tests) ---------------------------------------------------------


def root_from_leaves(leaves: Sequence[bytes]) -> RootHash:
    """MTH(D[n]) by the RFC 9162 §2.1.1 recursion over the leaf *data* (not hashes)."""
    return RootHash(_mth([leaf_hash(d) for d in leaves]))


def _mth(hashes: Sequence[bytes]) -> bytes:
    n = len(hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return hashes[0]
    k = _split(n)
    return node_hash(_mth(hashes[:k]), _mth(hashes[k:]))


def inclusion_path_naive(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]), RFC 9162 §2.1.3.1, recursively; leaf-side hash first."""
    n = len(leaf_hashes)
    if not 0 <= index < n:
        raise ValueError(f"audit: index {index} is outside a tree of size {n}")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_path_naive(index, leaf_hashes[:k]), _mth(leaf_hashes[k:])]
    return [*inclusion_path_naive(index - k, leaf_hashes[k:]), _mth(leaf_hashes[:k])]


def consistency_proof_naive(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true), RFC 9162 §2.1.4.1.

    For m = 0 and m = n the proof is empty (nothing to prove; as transparency-dev does).
    """
    n = len(leaf_hashes)
    if not 0 <= old_size <= n:
        raise ValueError(f"audit: old size {old_size} is outside 0..{n}")
    if old_size in (0, n):
        return []
    return _subproof(old_size, leaf_hashes, True)


def _subproof(m: int, hashes: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if complete else [_mth(hashes)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, hashes[:k], complete), _mth(hashes[k:])]
    return [*_subproof(m - k, hashes[k:], False), _mth(hashes[:k])]


# ---- proof sizes ---------------------------------------------------------------------------


def inclusion_proof_size(index: int, tree_size: int) -> int:
    """How many hashes PATH(index, D[tree_size]) holds.

    The path has one hash per level where index and the last leaf differ (the inner part)
    plus one per left-hand perfect subtree on the right edge above them (the border).
    """
    inner = (index ^ (tree_size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner + border


def consistency_proof_size(old_size: int, new_size: int) -> int:
    """How many hashes PROOF(old_size, D[new_size]) holds (0 < old_size < new_size)."""
    shift = (old_size & -old_size).bit_length() - 1  # trailing zeros of old_size
    # The path from the old tree's last leaf, without the levels inside the perfect
    # subtree of size 2^shift that holds it; that subtree's hash is sent first unless it
    # is the whole old tree (its hash is then the old root, which the verifier has).
    size = inclusion_proof_size(old_size - 1, new_size) - shift
    return size if old_size == 1 << shift else size + 1


def _check_hashes(proof: Sequence[bytes], what: str) -> None:
    for i, h in enumerate(proof):
        if len(h) != HASH_SIZE:
            raise MalformedProofError(
                f"audit: {what} proof hash {i} is {len(h)} bytes, expected {HASH_SIZE}"
            )


# ---- RFC 9162 §2.1.3.2: verifying an inclusion proof -------------------------------------


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `leaf_hash` is leaf `index` of the tree of `tree_size` with head `root`.

    Raises MalformedProofError when the proof cannot be one for (index, tree_size), and
    InclusionMismatchError when it is well formed but does not lead to `root`.
    """
    # Step 1: the index must be inside the tree.
    if not 0 <= index < tree_size:
        raise MalformedProofError(f"audit: index {index} is outside a tree of size {tree_size}")
    expected = inclusion_proof_size(index, tree_size)
    if len(proof) != expected:
        raise MalformedProofError(
            f"audit: inclusion proof has {len(proof)} hashes, expected {expected}"
        )
    _check_hashes(proof, "inclusion")
    # Step 2-3.
    fn, sn = index, tree_size - 1
    r = leaf_hash
    # Step 4.
    for p in proof:
        if sn == 0:  # 4.a (unreachable once the length is checked; kept as the RFC says)
            raise MalformedProofError("audit: inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:  # 4.b
            r = node_hash(p, r)  # 4.b.i
            # 4.b.ii: on the right edge a node with no right sibling is carried up
            # unchanged; skip those levels until fn is a right child again.
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)  # 4.b "Otherwise"
        fn >>= 1  # 4.c
        sn >>= 1
    # Step 5.
    if sn != 0:
        raise MalformedProofError("audit: inclusion proof is shorter than the path to the root")
    if r != root:
        raise InclusionMismatchError(
            f"audit: inclusion proof for index {index} in tree size {tree_size} leads to root "
            f"{r.hex()}, expected {root.hex()}"
        )


# ---- RFC 9162 §2.1.4.2: verifying a consistency proof ------------------------------------


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of `new_size` with head `new_root` extends the tree of
    `old_size` with head `old_root`.

    Raises MalformedProofError for a proof that cannot be one for these sizes, and
    InconsistentLogError when a well-formed proof does not join the two roots.
    """
    if not 0 <= old_size <= new_size:
        raise MalformedProofError(f"audit: old size {old_size} is outside 0..{new_size}")
    if old_size in (0, new_size):
        # Every tree extends the empty one; a tree extends itself iff the heads agree.
        if proof:
            raise MalformedProofError(
                f"audit: consistency proof has {len(proof)} hashes, expected 0"
            )
        if old_size == new_size and old_root != new_root:
            raise InconsistentLogError(
                f"audit: two heads of tree size {new_size} differ: {old_root.hex()} and "
                f"{new_root.hex()} (the log forked)"
            )
        return
    expected = consistency_proof_size(old_size, new_size)
    # Step 1 (an empty path fails) is covered: expected is never 0 here.
    if len(proof) != expected:
        raise MalformedProofError(
            f"audit: consistency proof has {len(proof)} hashes, expected {expected}"
        )
    _check_hashes(proof, "consistency")
    path = list(proof)
    # Step 2: a power-of-two old tree is itself a node of the new one.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # Step 3-4.
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        if sn == 0:  # 6.a
            raise MalformedProofError(
                "audit: consistency proof is longer than the path to the root"
            )
        if fn & 1 or fn == sn:  # 6.b
            fr = node_hash(c, fr)  # 6.b.i
            sr = node_hash(c, sr)
            while fn and not fn & 1:  # 6.b.ii: the right-edge shift, as in 4.b.ii
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)  # 6.b "Otherwise"
        fn >>= 1  # 6.c
        sn >>= 1
    # Step 7.
    if sn != 0:
        raise MalformedProofError("audit: consistency proof is shorter than the path to the root")
    if fr != old_root:
        raise InconsistentLogError(
            f"audit: consistency proof from size {old_size} to {new_size} rebuilds old root "
            f"{fr.hex()}, expected {old_root.hex()}"
        )
    if sr != new_root:
        raise InconsistentLogError(
            f"audit: consistency proof from size {old_size} to {new_size} rebuilds new root "
            f"{sr.hex()}, expected {new_root.hex()}"
        )
