"""The Merkle tree kept incrementally: the hash of every complete (perfect) subtree is
stored once, as node (level, index), and never changes (the log is append-only).

Node (level, index) covers leaves [index * 2^level, (index + 1) * 2^level); level 0 holds
the leaf hashes. A node is written as soon as its last leaf arrives, so a tree of n leaves
has fewer than 2n nodes and every incomplete subtree on the right edge is composed on the
fly from at most log2(n) complete ones (RFC 9162 §2.1.1: MTH of a range is the right fold
of the perfect subtrees its size decomposes into).

Each operation first computes the node keys it needs (O(log n)) and reads them with ONE
`NodeStore.get_nodes` call; nothing here does I/O of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from gateway.audit.merkle import EMPTY_ROOT, RootHash, node_hash
from gateway.errors import BadRequest

__all__ = [
    "MemoryNodeStore",
    "MissingNodesError",
    "NodeKey",
    "NodeStore",
    "TreeRangeError",
    "UpperNodeCache",
    "append_leaves",
    "consistency_keys",
    "consistency_proof",
    "frontier_keys",
    "inclusion_keys",
    "inclusion_proof",
    "root_hash",
]

NodeKey = tuple[int, int]  # (level, index)


class NodeStore(Protocol):
    """Read access to stored complete-subtree hashes (the storage layer implements it in
    SQL). Keys that are not stored are simply absent from the answer."""

    def get_nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]: ...


class TreeRangeError(BadRequest):
    """An index or tree size outside the tree (the API answers 400)."""


class MissingNodesError(Exception):
    """The store lacks nodes a tree of this size must have (storage is incomplete)."""


class MemoryNodeStore:
    """A NodeStore in a dict, for tests and benchmarks; counts what it is asked."""

    def __init__(self) -> None:
        self.nodes: dict[NodeKey, bytes] = {}
        self.calls = 0
        self.keys_read = 0

    def get_nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        self.calls += 1
        self.keys_read += len(keys)
        nodes = self.nodes
        return {k: nodes[k] for k in keys if k in nodes}

    def put_nodes(self, nodes: Iterable[tuple[NodeKey, bytes]]) -> None:
        self.nodes.update(nodes)


class UpperNodeCache:
    """The upper levels of the tree in memory, for a storage's node readers.

    Every proof reads one node per level; the upper ones are shared by all proofs and few
    (n / 2^level), and a stored node never changes, so they can be kept: a proof at 10^7
    entries then reads ~15 of its ~29 nodes from the database instead of all of them.
    Only nodes of level >= `level` (at least MIN_LEVEL: subtrees of 256 leaves and up) are
    kept; when more than `limit` are held, `level` goes up by one and the lower ones are
    dropped, so the cache keeps the highest levels and its size is bounded (~200 B a node:
    ~6 MiB at the default limit). Absent keys are never cached. Safe to share between
    threads: every step is one dict operation, and a race only costs a database read."""

    MIN_LEVEL = 8
    LIMIT = 32_768
    RANGES = 1024

    def __init__(self, limit: int = LIMIT, min_level: int = MIN_LEVEL) -> None:
        self.limit = limit
        self.level = min_level
        self._nodes: dict[NodeKey, bytes] = {}
        # MTH of composite (several-node) leaf ranges, for `range_memo` (see _hashes_of):
        # a range's leaves, once stored, never change, so neither does its hash
        self.ranges: dict[tuple[int, int], bytes] = {}

    def __len__(self) -> int:
        return len(self._nodes)

    def read(
        self, keys: Sequence[NodeKey], fetch: Callable[[Sequence[NodeKey]], dict[NodeKey, bytes]]
    ) -> dict[NodeKey, bytes]:
        """The nodes of ``keys`` found here or by ``fetch`` (called with the others only)."""
        nodes, level = self._nodes, self.level
        found: dict[NodeKey, bytes] = {}
        missing: list[NodeKey] = []
        for key in keys:
            hit = nodes.get(key) if key[0] >= level else None
            if hit is None:
                missing.append(key)
            else:
                found[key] = hit
        if missing:
            fetched = fetch(missing)
            found.update(fetched)
            keep = {k: h for k, h in fetched.items() if k[0] >= level}
            if keep:
                nodes.update(keep)
                if len(nodes) > self.limit:
                    self._raise_level()
        return found

    def _raise_level(self) -> None:
        while len(self._nodes) > self.limit:
            self.level += 1
            self._nodes = {k: h for k, h in self._nodes.items() if k[0] >= self.level}


# ---- key arithmetic ------------------------------------------------------------------------


def _range_keys(start: int, end: int) -> list[NodeKey]:
    """The complete nodes, left to right (largest first), that tile leaves [start, end).

    Valid for the ranges RFC 9162's recursion produces: `start` is a multiple of the
    largest power of two not above end - start, so each piece is an aligned node.
    """
    size = end - start
    if size & (size - 1) == 0 and size:  # one node: every range but the right edge's
        level = size.bit_length() - 1
        return [(level, start >> level)]
    keys: list[NodeKey] = []
    while size:
        level = size.bit_length() - 1
        keys.append((level, start >> level))
        start += 1 << level
        size -= 1 << level
    return keys


def frontier_keys(tree_size: int) -> list[NodeKey]:
    """The right frontier: the perfect subtrees a tree of `tree_size` leaves splits into."""
    return _range_keys(0, tree_size)


def _split(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def _read(store: NodeStore, wanted: Iterable[NodeKey]) -> dict[NodeKey, bytes]:
    keys = list(dict.fromkeys(wanted))
    found = store.get_nodes(keys) if keys else {}
    missing = [k for k in keys if k not in found]
    if missing:
        raise MissingNodesError(
            f"audit: node store lacks {len(missing)} node(s) the tree needs, first "
            f"(level {missing[0][0]}, index {missing[0][1]})"
        )
    return found


def _fold(keys: Sequence[NodeKey], nodes: dict[NodeKey, bytes]) -> bytes:
    """MTH of a range from its tiling, folded right to left (RFC 9162 §2.1.1)."""
    if len(keys) == 1:
        return nodes[keys[0]]
    acc = nodes[keys[-1]]
    for key in reversed(keys[:-1]):
        acc = node_hash(nodes[key], acc)
    return acc


# ---- append ------------------------------------------------------------------------------


def append_leaves(
    store: NodeStore, tree_size: int, leaf_hashes: Sequence[bytes]
) -> list[tuple[NodeKey, bytes]]:
    """Append leaf hashes to a tree of `tree_size` leaves; return the new complete nodes
    (leaves included) for the caller to write. Reads only the right frontier, once."""
    if tree_size < 0:
        raise TreeRangeError("tree-size-out-of-range", f"tree size {tree_size} is negative")
    if not leaf_hashes:
        return []
    frontier = _read(store, frontier_keys(tree_size))
    # The frontier's nodes are exactly the left siblings still waiting for a partner;
    # keep them by level (at most one per level).
    pending: dict[int, bytes] = {level: frontier[(level, index)] for level, index in frontier}
    new: list[tuple[NodeKey, bytes]] = []
    for offset, lh in enumerate(leaf_hashes):
        index, level, node = tree_size + offset, 0, lh
        new.append(((0, index), node))
        while index & 1:  # a right child completes its parent
            node = node_hash(pending.pop(level), node)
            index >>= 1
            level += 1
            new.append(((level, index), node))
        pending[level] = node
    return new


# ---- root --------------------------------------------------------------------------------


def root_hash(store: NodeStore, tree_size: int) -> RootHash:
    """MTH(D[tree_size]) from the frontier (at most log2(n) + 1 nodes, one read)."""
    if tree_size < 0:
        raise TreeRangeError("tree-size-out-of-range", f"tree size {tree_size} is negative")
    if tree_size == 0:
        return EMPTY_ROOT
    keys = frontier_keys(tree_size)
    return RootHash(_fold(keys, _read(store, keys)))


# ---- proofs ------------------------------------------------------------------------------


def _inclusion_ranges(index: int, tree_size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTHs form PATH(index, D[tree_size]) (RFC 9162 §2.1.3.1),
    leaf side first, found by walking the recursion from the root down."""
    lo, hi = 0, tree_size
    ranges: list[tuple[int, int]] = []
    while hi - lo > 1:
        k = 1 << ((hi - lo - 1).bit_length() - 1)  # _split(hi - lo), inlined: O(log n) calls
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return ranges


def _consistency_ranges(old_size: int, tree_size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTHs form PROOF(old_size, D[tree_size]) (RFC 9162 §2.1.4.1)."""
    lo, hi, m = 0, tree_size, old_size
    complete = True  # SUBPROOF's b: is the subtree still the whole old tree?
    ranges: list[tuple[int, int]] = []
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            m -= k
            lo += k
            complete = False
    if not complete:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def _hashes_of(store: NodeStore, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    # A store may remember the MTH of composite ranges (`UpperNodeCache.ranges`): the right
    # edge's range is the same for every proof at one tree size, and several nodes each.
    memo: dict[tuple[int, int], bytes] | None = getattr(store, "range_memo", None)
    tilings = [_range_keys(a, b) for a, b in ranges]
    known = [
        None if memo is None or len(t) == 1 else memo.get(r)
        for t, r in zip(tilings, ranges, strict=True)
    ]
    nodes = _read(
        store, (k for keys, h in zip(tilings, known, strict=True) if h is None for k in keys)
    )
    out: list[bytes] = []
    for keys, remembered, r in zip(tilings, known, ranges, strict=True):
        if remembered is not None:
            out.append(remembered)
            continue
        h = _fold(keys, nodes)
        if memo is not None and len(keys) > 1:
            if len(memo) >= UpperNodeCache.RANGES:
                memo.clear()  # a new tree size every checkpoint: old ranges go stale
            memo[r] = h
        out.append(h)
    return out


def inclusion_keys(index: int, tree_size: int) -> list[NodeKey]:
    """Every node key `inclusion_proof` reads (O(log n)); for tests and storage planning."""
    return list(
        dict.fromkeys(k for a, b in _inclusion_ranges(index, tree_size) for k in _range_keys(a, b))
    )


def inclusion_proof(store: NodeStore, index: int, tree_size: int) -> list[bytes]:
    """PATH(index, D[tree_size]), RFC 9162 §2.1.3.1, from stored nodes in one read."""
    if tree_size <= 0:
        raise TreeRangeError(
            "tree-size-out-of-range", f"tree size {tree_size} has no leaves", field="tree_size"
        )
    if not 0 <= index < tree_size:
        raise TreeRangeError(
            "index-out-of-range",
            f"index {index} is outside a tree of size {tree_size} (0..{tree_size - 1})",
            field="index",
        )
    return _hashes_of(store, _inclusion_ranges(index, tree_size))


def consistency_keys(old_size: int, tree_size: int) -> list[NodeKey]:
    """Every node key `consistency_proof` reads (O(log n))."""
    if old_size in (0, tree_size):
        return []
    return list(
        dict.fromkeys(
            k for a, b in _consistency_ranges(old_size, tree_size) for k in _range_keys(a, b)
        )
    )


def consistency_proof(store: NodeStore, old_size: int, tree_size: int) -> list[bytes]:
    """PROOF(old_size, D[tree_size]), RFC 9162 §2.1.4.1, from stored nodes in one read.

    Empty when old_size is 0 or equals tree_size (there is nothing to prove).
    """
    if tree_size < 0:
        raise TreeRangeError(
            "tree-size-out-of-range", f"tree size {tree_size} is negative", field="tree_size"
        )
    if not 0 <= old_size <= tree_size:
        raise TreeRangeError(
            "old-size-out-of-range",
            f"old size {old_size} must be between 0 and tree size {tree_size}",
            field="old_size",
        )
    if old_size in (0, tree_size):
        return []
    return _hashes_of(store, _consistency_ranges(old_size, tree_size))
