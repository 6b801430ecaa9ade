"""`gateway audit verify --nodes`: every stored node of the Merkle tree, and every SQLite
tile, against the tree recomputed from the entries (docs/audit.md, "Verifying the stored
tree").

`verify_storage` proves the entries: each leaf hashes to its stored level-0 node, and the
roots of the leaves' tree are the signed checkpoints' roots. It does not read the tree's
inner nodes, from which the API builds inclusion and consistency proofs: a changed or
missing inner node makes those proofs fail for clients (they check them against the signed
checkpoint, so nothing false is ever accepted), but the operator's verification did not say
where. This pass, run after it, does: it walks the tree in aligned blocks of 2^16 leaves,
recomputes each level of the block from the stored level-0 hashes (which `verify_storage`
just checked against the leaves) and compares it, level by level, with the stored nodes of
every complete subtree; then the levels above the blocks; and, on SQLite, each tile (the
8 lower levels of a complete 2^8 or 2^16 subtree in one row, docs/storage.md) with the
nodes it repeats. Memory: one block's levels (~4 MiB) and one hash per block.

Failures name the node (level, index), the entries it covers and what is wrong. A missing
tile is not a failure (proofs then read `nodes`, the reference); it is counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gateway.audit_verify import VerificationFailed, next_level
from gateway.storage.sqlite_writes import TILE_LEVELS

if TYPE_CHECKING:
    from gateway.storage.base import Storage

BLOCK_LEVEL = 16  # a block is 2^16 leaves: the span of a tier-1 tile


class TileReader(Protocol):
    """What a storage with tiles (SQLite) offers this pass."""

    async def tile_range(self, tier: int, start: int, end: int) -> list[tuple[int, bytes]]: ...


@dataclass
class NodeReport:
    nodes: int = 0  # stored nodes compared (every level, level 0 included)
    tiles: int = 0  # tiles compared
    tiles_missing: int = 0  # complete subtrees without their tile (served from `nodes`)


def _span(level: int, idx: int) -> str:
    first = idx << level
    return f"entries {first}..{first + (1 << level) - 1}"


async def _compare_level(
    storage: Storage, level: int, start: int, computed: Sequence[bytes]
) -> int:
    """Stored nodes (level, start..start+len-1) against `computed`; raise at the first one
    missing or different. Returns how many were compared."""
    if not computed:
        return 0
    end = start + len(computed)
    stored = await storage.node_range(level, start, end)
    if len(stored) == len(computed) and [h for _, h in stored] == list(computed):
        return len(computed)
    by_index = dict(stored)
    for offset, expected in enumerate(computed):
        idx = start + offset
        found = by_index.get(idx)
        if found is None:
            raise VerificationFailed(
                f"tree node (level {level}, index {idx}) over {_span(level, idx)} is missing: "
                "proofs that need it cannot be built",
                idx << level,
            )
        if found != expected:
            raise VerificationFailed(
                f"tree node (level {level}, index {idx}) over {_span(level, idx)} differs from "
                "the hash of those entries: proofs through it fail against the checkpoint",
                idx << level,
            )
    return len(computed)  # not reached: the range holds only start..end-1, once each


async def _compare_tiles(
    tiles: TileReader,
    tier: int,
    first: int,
    expected: Sequence[bytes],
    report: NodeReport,
) -> None:
    """Tiles (tier, first..first+len-1) against their expected bytes."""
    if not expected:
        return
    found = dict(await tiles.tile_range(tier, first, first + len(expected)))
    for offset, want in enumerate(expected):
        index = first + offset
        got = found.get(index)
        if got is None:
            report.tiles_missing += 1
            continue
        report.tiles += 1
        if got != want:
            level = TILE_LEVELS * (tier + 1)
            raise VerificationFailed(
                f"tile of tree node (level {level}, index {index}) over {_span(level, index)} "
                f"does not hold the nodes below it ({len(got)} bytes, {len(want)} expected): "
                "proofs read from it fail against the checkpoint",
                index << level,
            )


def _tile_bytes(levels: Sequence[Sequence[bytes]], tier: int, index_in_block: int) -> bytes:
    """The tile of subtree (8 * (tier + 1), index_in_block) within this block's levels: its
    levels 8 * tier .. 8 * tier + 7, level by level, left to right."""
    parts: list[bytes] = []
    top = TILE_LEVELS * (tier + 1)
    for level in range(TILE_LEVELS * tier, top):
        width = 1 << (top - level)
        parts.extend(levels[level][index_in_block * width : (index_in_block + 1) * width])
    return b"".join(parts)


async def verify_nodes(
    storage: Storage, size: int, *, progress: Callable[[int], None] | None = None
) -> NodeReport:
    """Check every stored node of a complete subtree within the first `size` entries (the
    verified checkpoint's size), and the tiles where the storage keeps them. Raise
    VerificationFailed at the first node or tile that is missing or wrong."""
    report = NodeReport()
    tiles: TileReader | None = storage if hasattr(storage, "tile_range") else None  # type: ignore[assignment]
    block = 1 << BLOCK_LEVEL
    roots: list[bytes] = []  # level-16 nodes, one per complete block
    for lo in range(0, size, block):
        hi = min(lo + block, size)
        stored = await storage.node_range(0, lo, hi)
        leaves = [h for _, h in stored]
        if len(leaves) != hi - lo:
            present = {i for i, _ in stored}
            missing = next(i for i in range(lo, hi) if i not in present)
            raise VerificationFailed(
                f"tree node (level 0, index {missing}), the leaf hash of entry {missing}, is "
                "missing: proofs for that entry cannot be built",
                missing,
            )
        report.nodes += len(leaves)
        levels: list[list[bytes]] = [leaves]
        while len(levels[-1]) > 1 and len(levels) <= BLOCK_LEVEL:
            levels.append(next_level(levels[-1]))
        for level in range(1, len(levels)):
            report.nodes += await _compare_level(storage, level, lo >> level, levels[level])
        if tiles is not None:
            first = lo >> TILE_LEVELS
            count = (hi - lo) >> TILE_LEVELS  # complete 2^8 subtrees in this block
            expected = [_tile_bytes(levels, 0, j) for j in range(count)]
            await _compare_tiles(tiles, 0, first, expected, report)
            if hi - lo == block:
                whole = [_tile_bytes(levels, 1, 0)]
                await _compare_tiles(tiles, 1, lo >> BLOCK_LEVEL, whole, report)
        if hi - lo == block:
            roots.append(levels[BLOCK_LEVEL][0])
        if progress is not None:
            progress(hi)
    level, nodes = BLOCK_LEVEL, roots
    while len(nodes) > 1:
        nodes = next_level(nodes)
        level += 1
        report.nodes += await _compare_level(storage, level, 0, nodes)
    return report
