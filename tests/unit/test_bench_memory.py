"""bench.memory_log writes a real log: its streaming tree gives the RFC 9162 nodes and roots
the gateway's own tree code gives (quick-mode bench_memory also runs `audit verify`)."""

from __future__ import annotations

from bench.bench_memory import Run
from bench.memory_log import _Tree
from gateway.audit import tree
from gateway.audit.merkle import leaf_hash, root_from_leaves


def test_the_streaming_tree_matches_the_gateways_nodes_and_roots() -> None:
    leaves = [b"leaf %d" % i for i in range(70)]
    streaming = _Tree()
    written: list[tuple[int, int, bytes]] = []
    store = tree.MemoryNodeStore()
    for n, leaf in enumerate(leaves, 1):
        store.put_nodes(tree.append_leaves(store, n - 1, [leaf_hash(leaf)]))
        streaming.append(leaf, written)
        assert streaming.root() == root_from_leaves(leaves[:n])
    assert {(level, idx): digest for level, idx, digest in written} == store.nodes


def test_the_slope_is_taken_over_the_second_half_of_the_run() -> None:
    warming = Run(0, samples=[(100, 1000), (200, 5000), (300, 9000)])
    flat = Run(0, samples=[*warming.samples, (400, 9000), (500, 9000), (600, 9000)])
    assert flat.slope() == 0.0
    growing = Run(0, samples=[(n * 100, 1000 + n * 10) for n in range(1, 11)])
    assert round(growing.slope()) == 100  # 10 KiB per 100 messages
