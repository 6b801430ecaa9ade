"""The incremental tree against the naive RFC 9162 reference."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.audit.merkle import (
    EMPTY_ROOT,
    consistency_proof_naive,
    inclusion_path_naive,
    leaf_hash,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)
from gateway.audit.tree import (
    MemoryNodeStore,
    MissingNodesError,
    TreeRangeError,
    append_leaves,
    consistency_keys,
    consistency_proof,
    frontier_keys,
    inclusion_keys,
    inclusion_proof,
    root_hash,
)
from gateway.errors import BadRequest


def leaf(i: int) -> bytes:
    return f"event {i}".encode()


def build(size: int, *, batch: int = 1) -> MemoryNodeStore:
    store = MemoryNodeStore()
    n = 0
    while n < size:
        chunk = [leaf_hash(leaf(i)) for i in range(n, min(size, n + batch))]
        store.put_nodes(append_leaves(store, n, chunk))
        n += len(chunk)
    return store


def test_append_writes_exactly_the_complete_nodes() -> None:
    store = MemoryNodeStore()
    for n in range(100):
        new = append_leaves(store, n, [leaf_hash(leaf(n))])
        assert new[0] == ((0, n), leaf_hash(leaf(n)))
        # Leaf n completes one node per trailing 1 bit of n.
        trailing_ones = (~n & (n + 1)).bit_length() - 1
        assert len(new) == 1 + trailing_ones
        store.put_nodes(new)
        size = n + 1
        assert len(store.nodes) == 2 * size - size.bit_count()


def test_append_reads_only_the_frontier_once() -> None:
    store = build(1000)
    store.calls = store.keys_read = 0
    append_leaves(store, 1000, [leaf_hash(b"x")] * 50)
    assert store.calls == 1
    assert store.keys_read == len(frontier_keys(1000)) == (1000).bit_count()


@pytest.mark.parametrize("batch", [1, 3, 7, 64])
def test_batched_appends_store_the_same_nodes(batch: int) -> None:
    assert build(130, batch=batch).nodes == build(130).nodes


@pytest.mark.parametrize("size", range(1, 65))
def test_every_proof_matches_the_naive_reference(size: int) -> None:
    # The store holds exactly `size` leaves: proofs must not need anything beyond it.
    store = build(size)
    data = [leaf(i) for i in range(size)]
    hashes = [leaf_hash(d) for d in data]
    root = root_from_leaves(data)
    assert root_hash(store, size) == root
    for index in range(size):
        proof = inclusion_proof(store, index, size)
        assert proof == inclusion_path_naive(index, hashes)
        verify_inclusion(hashes[index], index, size, proof, root)
    for old in range(size + 1):
        proof = consistency_proof(store, old, size)
        assert proof == consistency_proof_naive(old, hashes)
        verify_consistency(old, size, root_from_leaves(data[:old]), root, proof)


def test_proofs_for_older_sizes_from_a_grown_store() -> None:
    store = build(64)
    data = [leaf(i) for i in range(64)]
    hashes = [leaf_hash(d) for d in data]
    for size in range(1, 64):
        assert root_hash(store, size) == root_from_leaves(data[:size])
        for index in range(size):
            assert inclusion_proof(store, index, size) == inclusion_path_naive(index, hashes[:size])
        for old in range(size + 1):
            assert consistency_proof(store, old, size) == consistency_proof_naive(
                old, hashes[:size]
            )


def test_empty_tree() -> None:
    store = MemoryNodeStore()
    assert root_hash(store, 0) == EMPTY_ROOT
    assert consistency_proof(store, 0, 0) == []
    assert store.calls == 0


_BIG = build(70_001, batch=4096)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 70_001).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_proofs_in_a_large_tree_verify(case: tuple[int, int]) -> None:
    size, index = case
    root = root_hash(_BIG, size)
    verify_inclusion(leaf_hash(leaf(index)), index, size, inclusion_proof(_BIG, index, size), root)
    old = index + 1
    verify_consistency(old, size, root_hash(_BIG, old), root, consistency_proof(_BIG, old, size))


def test_keys_read_per_proof_is_logarithmic() -> None:
    rng = random.Random(7)
    worst_inclusion = worst_consistency = 0
    for _ in range(400):
        size = rng.randint(2, 70_001)
        index = rng.randrange(size)
        old = rng.randint(1, size)
        for fn, args, keys in (
            (inclusion_proof, (index, size), inclusion_keys(index, size)),
            (consistency_proof, (old, size), consistency_keys(old, size)),
        ):
            _BIG.calls = _BIG.keys_read = 0
            fn(_BIG, *args)
            assert _BIG.calls == (1 if keys else 0)  # one read per proof
            assert _BIG.keys_read == len(keys)
        # A proof is <= 2 log2(n) hashes; composing the right edge adds < log2(n) keys.
        bound = 3 * size.bit_length()
        assert len(inclusion_keys(index, size)) <= bound
        assert len(consistency_keys(old, size)) <= bound
        worst_inclusion = max(worst_inclusion, len(inclusion_keys(index, size)))
        worst_consistency = max(worst_consistency, len(consistency_keys(old, size)))
    assert worst_inclusion <= 3 * 17 and worst_consistency <= 3 * 17


def test_out_of_range_requests_are_typed_400_errors() -> None:
    store = build(8)
    with pytest.raises(TreeRangeError, match="index 8 is outside a tree of size 8") as info:
        inclusion_proof(store, 8, 8)
    assert isinstance(info.value, BadRequest)
    assert info.value.status == 400
    assert info.value.slug == "index-out-of-range"
    assert info.value.field == "index"
    with pytest.raises(TreeRangeError, match="tree size 0 has no leaves"):
        inclusion_proof(store, 0, 0)
    with pytest.raises(TreeRangeError, match="index -1"):
        inclusion_proof(store, -1, 8)
    with pytest.raises(TreeRangeError, match="old size 9 must be between 0 and tree size 8") as c:
        consistency_proof(store, 9, 8)
    assert c.value.slug == "old-size-out-of-range"
    with pytest.raises(TreeRangeError):
        root_hash(store, -1)


def test_a_store_missing_nodes_is_reported() -> None:
    store = build(8)
    with pytest.raises(MissingNodesError, match=r"first \(level 0, index 8\)"):
        inclusion_proof(store, 3, 9)
    with pytest.raises(MissingNodesError):
        append_leaves(MemoryNodeStore(), 5, [leaf_hash(b"x")])


# ---- the upper-level node cache -------------------------------------------------------------


def _cached_store(leaves: int) -> MemoryNodeStore:
    store = MemoryNodeStore()
    store.put_nodes(append_leaves(store, 0, [bytes([i % 251]) * 32 for i in range(leaves)]))
    return store


def test_upper_node_cache_answers_what_the_store_answers_and_reads_less() -> None:
    from gateway.audit.tree import UpperNodeCache

    store = _cached_store(5000)
    cache = UpperNodeCache(min_level=8)

    class Through:
        def get_nodes(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
            return cache.read(keys, store.get_nodes)

    rng = random.Random(5)
    for _ in range(200):
        i = rng.randrange(5000)
        assert inclusion_proof(Through(), i, 5000) == inclusion_proof(store, i, 5000)
    before = store.keys_read
    for _ in range(50):
        inclusion_proof(Through(), rng.randrange(5000), 5000)
    per_proof = (store.keys_read - before) / 50
    # the nodes of level >= 8 (5000 / 256: ~20 of them) now come from memory
    assert 0 < len(cache) <= 40 and per_proof < len(inclusion_keys(0, 5000)) - 3


def test_upper_node_cache_keeps_high_levels_only_and_never_absent_keys() -> None:
    from gateway.audit.tree import UpperNodeCache

    cache = UpperNodeCache(limit=4, min_level=2)
    known = {(2, 0): b"a" * 32, (3, 0): b"b" * 32, (1, 0): b"c" * 32}
    asked: list[list[tuple[int, int]]] = []

    def fetch(keys: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        asked.append(list(keys))
        return {k: known[k] for k in keys if k in known}

    keys = [(1, 0), (2, 0), (3, 0), (4, 0)]
    assert cache.read(keys, fetch) == {k: known[k] for k in keys[:3]}
    assert cache.read(keys, fetch) == {k: known[k] for k in keys[:3]}
    assert asked == [keys, [(1, 0), (4, 0)]]  # level 1 is below the cache; (4, 0) is absent
    # past the limit, the lowest cached level is dropped and the bound holds
    cache.read([(2, i) for i in range(1, 6)], lambda ks: {k: b"x" * 32 for k in ks})
    assert len(cache) <= 4 and cache.level == 3
    calls = len(asked)
    assert cache.read([(3, 0)], fetch) == {(3, 0): b"b" * 32}  # kept: from memory
    assert cache.read([(2, 0)], fetch) == {(2, 0): b"a" * 32}  # dropped: from the store
    assert asked[calls:] == [[(2, 0)]]


def test_remembered_range_hashes_give_the_same_proofs_with_fewer_reads() -> None:
    from gateway.audit.tree import UpperNodeCache

    store = _cached_store(1000)  # 1000 = 0b1111101000: the right edge is several nodes
    cache = UpperNodeCache()

    class Remembering:
        range_memo = cache.ranges

        def get_nodes(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
            return store.get_nodes(keys)

    for size in (1000, 999, 640):  # proofs at several tree sizes share one memo
        for i in range(0, size, 7):
            assert inclusion_proof(Remembering(), i, size) == inclusion_proof(store, i, size)
        for old in range(1, size, 37):
            assert consistency_proof(Remembering(), old, size) == consistency_proof(
                store, old, size
            )
    assert cache.ranges  # composite ranges were remembered...
    before = store.keys_read
    inclusion_proof(Remembering(), 3, 1000)
    with_memo = store.keys_read - before
    assert with_memo < len(inclusion_keys(3, 1000))  # ...and are not read again
