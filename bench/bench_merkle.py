"""Benchmark the audit tree: appends, proofs, keys read per proof, verification rate.

PYTHONPATH=. .venv/bin/python bench/bench_merkle.py            # 10^3 and 10^6 leaves
PYTHONPATH=. .venv/bin/python bench/bench_merkle.py --big      # also 10^7 (compact store)
PYTHONPATH=. .venv/bin/python bench/bench_merkle.py --quick    # 10^3 and 10^5
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import time
from collections.abc import Sequence

from gateway.audit.merkle import leaf_hash, verify_inclusion
from gateway.audit.tree import (
    MemoryNodeStore,
    NodeKey,
    NodeStore,
    append_leaves,
    inclusion_keys,
    inclusion_proof,
    root_hash,
)

BATCH = 20_000  # the sequencer's batch size


class CompactNodeStore:
    """One bytearray per level (32 bytes a node): ~64 bytes a leaf instead of ~250."""

    def __init__(self) -> None:
        self.levels: list[bytearray] = []
        self.keys_read = 0

    def get_nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        self.keys_read += len(keys)
        out: dict[NodeKey, bytes] = {}
        for level, index in keys:
            if level < len(self.levels) and (index + 1) * 32 <= len(self.levels[level]):
                out[(level, index)] = bytes(self.levels[level][index * 32 : index * 32 + 32])
        return out

    def put_nodes(self, nodes: Sequence[tuple[NodeKey, bytes]]) -> None:
        for (level, index), h in nodes:  # nodes arrive in index order per level
            while len(self.levels) <= level:
                self.levels.append(bytearray())
            assert len(self.levels[level]) == index * 32
            self.levels[level] += h


def build(store: MemoryNodeStore | CompactNodeStore, n: int) -> float:
    """Append n leaves in sequencer-sized batches; return leaves per second."""
    size = 0
    t0 = time.perf_counter()
    while size < n:
        batch = [leaf_hash(d) for d in leaves_batch(size, min(n, size + BATCH))]
        store.put_nodes(append_leaves(store, size, batch))
        size += len(batch)
    return n / (time.perf_counter() - t0)


# Leaf-sized payloads (an audit event is ~300-500 bytes of canonical JSON).
_PAD = b"x" * 380


def leaves_batch(lo: int, hi: int) -> list[bytes]:
    return [b"%d" % i + _PAD for i in range(lo, hi)]


def proof_timing(store: NodeStore, n: int, samples: int) -> tuple[float, float, int]:
    rng = random.Random(n)
    indices = [rng.randrange(n) for _ in range(samples)]
    t0 = time.perf_counter()
    for i in indices:
        inclusion_proof(store, i, n)
    per_proof = (time.perf_counter() - t0) / samples
    keys = [len(inclusion_keys(i, n)) for i in indices]
    return per_proof, statistics.fmean(keys), max(keys)


def verification_rate(store: NodeStore, n: int, samples: int) -> tuple[float, float]:
    rng = random.Random(1)
    root = root_hash(store, n)
    cases = []
    for _ in range(samples):
        i = rng.randrange(n)
        cases.append((leaves_batch(i, i + 1)[0], i, inclusion_proof(store, i, n)))
    t0 = time.perf_counter()
    for data, i, proof in cases:
        verify_inclusion(leaf_hash(data), i, n, proof, root)
    verified = samples / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for data, _, _ in cases:
        hashlib.sha256(data).digest()
    bare = samples / (time.perf_counter() - t0)
    return verified, bare


def report(name: str, store: MemoryNodeStore | CompactNodeStore, n: int) -> None:
    rate = build(store, n)
    print(f"{name}: appended {n:,} leaves at {rate:,.0f} leaves/s (hashing included)")
    per_proof, mean_keys, max_keys = proof_timing(store, n, 2000)
    print(
        f"  inclusion proof at {n:,}: {per_proof * 1e6:.1f} µs, one read of "
        f"{mean_keys:.1f} keys on average (max {max_keys}; log2 n = {n.bit_length()})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10^5 instead of 10^6")
    parser.add_argument("--big", action="store_true", help="also 10^7 leaves (compact store)")
    args = parser.parse_args()
    large = 10**5 if args.quick else 10**6
    for n in (10**3, large):
        store = MemoryNodeStore()
        report("MemoryNodeStore", store, n)
        if n == large:
            verified, bare = verification_rate(store, n, 20_000)
            print(
                f"  verify inclusion (leaf hash + proof): {verified:,.0f} leaves/s; "
                f"bare SHA-256 of the same bytes: {bare:,.0f}/s ({bare / verified:.0f}x)"
            )
        del store
    if args.big:
        report("CompactNodeStore", CompactNodeStore(), 10**7)


if __name__ == "__main__":
    main()
