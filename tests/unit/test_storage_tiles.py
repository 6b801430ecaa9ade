"""SQLite's tiles of the audit tree (migration 0003, docs/storage.md "Tiles"): every
complete subtree of 2^8 and 2^16 leaves keeps its 8 lower levels of nodes in one row, so a
proof reads a row per 8 levels. The proofs must be exactly the ones `nodes` alone gives,
whatever tiles exist, and a database without tiles gets them when it is opened."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.audit import tree
from gateway.storage import SqliteStorage, StorageError
from gateway.storage import sqlite_writes as writes
from gateway.storage.sqlite import _get_nodes, _get_nodes_tiled
from tests.storage_builders import build_tree_log, grow_tree_log

pytestmark = pytest.mark.anyio

SIZE = (1 << 16) + 300  # one complete tier-1 tile, 257 tier-0 tiles, an incomplete edge


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tree.MemoryNodeStore]:
    path = tmp_path_factory.mktemp("tiles") / "gateway.db"
    return path, build_tree_log(path, SIZE)


@pytest.fixture
async def opened(
    built: tuple[Path, tree.MemoryNodeStore],
) -> AsyncIterator[tuple[SqliteStorage, tree.MemoryNodeStore]]:
    path, store = built
    storage = SqliteStorage(path)
    await storage.open()
    try:
        yield storage, store
    finally:
        await storage.close()


def _tiles(path: Path) -> dict[int, bytes]:
    with sqlite3.connect(path) as conn:
        return {i: bytes(h) for i, h in conn.execute("SELECT id, hashes FROM tiles")}


def test_every_complete_subtree_has_its_tile_holding_its_nodes(
    built: tuple[Path, tree.MemoryNodeStore],
) -> None:
    path, store = built
    tiles = _tiles(path)
    expected = {writes.tile_id(0, i) for i in range(SIZE >> 8)} | {writes.tile_id(1, 0)}
    assert set(tiles) == expected
    for tile_id, blob in tiles.items():
        tier, index = tile_id >> 40, tile_id & ((1 << 40) - 1)
        assert len(blob) == 32 * writes.TILE_HASHES
        for row in range(8):
            level = 8 * tier + row
            width = 256 >> row
            for idx in range(index * width, (index + 1) * width):
                at = writes.tile_offset(level, idx)
                assert blob[at : at + 32] == store.nodes[(level, idx)], (tier, index, level, idx)


async def test_proofs_from_tiles_are_the_proofs_from_nodes(
    opened: tuple[SqliteStorage, tree.MemoryNodeStore],
) -> None:
    storage, store = opened
    assert storage.tiled_size == SIZE
    reader = storage.node_reader()
    rng = random.Random(7)
    for size in (1, 255, 256, 257, 4096, 65_535, 65_536, 65_537, SIZE - 1, SIZE):
        for index in {0, size - 1, *(rng.randrange(size) for _ in range(20))}:
            got = await asyncio.to_thread(tree.inclusion_proof, reader, index, size)
            assert got == tree.inclusion_proof(store, index, size), (index, size)
        for old in {1, size // 2, size - 1, rng.randrange(1, size + 1)}:
            if 0 < old <= size:
                got = await asyncio.to_thread(tree.consistency_proof, reader, old, size)
                assert got == tree.consistency_proof(store, old, size), (old, size)


async def test_a_proof_inside_complete_tiles_reads_no_node_below_level_16(
    opened: tuple[SqliteStorage, tree.MemoryNodeStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    storage, store = opened
    keys = tree.inclusion_keys(1000, SIZE)
    from_nodes: list[tuple[int, int]] = []

    def spy(
        conn: sqlite3.Connection, wanted: list[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        from_nodes.extend(wanted)
        return _get_nodes(conn, wanted)

    monkeypatch.setattr("gateway.storage.sqlite._get_nodes", spy)
    statements: list[str] = []

    def read(conn: sqlite3.Connection) -> dict[tuple[int, int], bytes]:
        conn.set_trace_callback(statements.append)
        try:
            return _get_nodes_tiled(conn, keys, storage.tiled_size)
        finally:
            conn.set_trace_callback(None)

    got = await asyncio.to_thread(storage.read_now, read)
    assert got == {k: store.nodes[k] for k in keys}
    assert sum("FROM tiles" in s for s in statements) == 1
    # leaf 1000's path below level 16 lies in complete tiles ((0, 3) and (1, 0)): only the
    # right edge's nodes (the 300 leaves after 2^16, in no complete tile) come from `nodes`
    edge = [k for k in keys if k[1] << k[0] >= 1 << 16]
    assert edge and sorted(from_nodes) == sorted(edge)


async def test_a_missing_or_broken_tile_and_a_stale_size_fall_back_to_nodes(
    opened: tuple[SqliteStorage, tree.MemoryNodeStore],
) -> None:
    storage, store = opened
    keys = tree.inclusion_keys(300, SIZE) + tree.inclusion_keys(70_000 - 5000, SIZE)
    want = {k: store.nodes[k] for k in keys}

    def with_tiles_damaged(conn: sqlite3.Connection) -> dict[tuple[int, int], bytes]:
        conn.execute("SAVEPOINT damage")  # a reader's own view, rolled back below
        try:
            conn.execute("PRAGMA query_only = OFF")
            conn.execute("DELETE FROM tiles WHERE id = ?", (writes.tile_id(0, 1),))
            conn.execute("UPDATE tiles SET hashes = x'00' WHERE id = ?", (writes.tile_id(1, 0),))
            return _get_nodes_tiled(conn, keys, storage.tiled_size)
        finally:
            conn.execute("ROLLBACK TO damage")
            conn.execute("RELEASE damage")
            conn.execute("PRAGMA query_only = ON")

    assert await asyncio.to_thread(storage.read_now, with_tiles_damaged) == want
    for stale in (0, 255, 256, 65_535):  # a size behind the database's: nodes instead
        got = await asyncio.to_thread(
            storage.read_now, lambda c, s=stale: _get_nodes_tiled(c, keys, s)
        )
        assert got == want
    assert await asyncio.to_thread(storage.read_now, lambda c: _get_nodes(c, keys)) == want


async def test_opening_a_database_without_tiles_builds_them(
    built: tuple[Path, tree.MemoryNodeStore], tmp_path: Path
) -> None:
    path, _ = built
    copy = tmp_path / "old.db"
    with sqlite3.connect(path) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    # as a database written before migration 0003 (no tiles), then as one whose backfill
    # was interrupted (tiles are written in ascending order: a prefix of them is there)
    for keep_below in (0, writes.tile_id(0, 100)):
        with sqlite3.connect(copy) as conn:
            conn.execute("DELETE FROM tiles WHERE id >= ?", (keep_below,))
        storage = SqliteStorage(copy)
        await storage.open()
        try:
            assert storage.tiled_size == SIZE
        finally:
            await storage.close()
        assert _tiles(copy) == _tiles(path)


async def test_tiles_grow_with_the_tree_and_a_broken_subtree_is_refused(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "g.db")
    await storage.open()
    store = tree.MemoryNodeStore()
    try:
        await grow_tree_log(storage, store, 0, 255)
        assert _tiles(storage.path) == {}
        await grow_tree_log(storage, store, 255, 600)
        assert set(_tiles(storage.path)) == {writes.tile_id(0, 0), writes.tile_id(0, 1)}
        assert storage.tiled_size == 600
        reader = storage.node_reader()
        for index in (0, 255, 511, 599):
            got = await asyncio.to_thread(tree.inclusion_proof, reader, index, 600)
            assert got == tree.inclusion_proof(store, index, 600)

        def root_without_children(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO nodes VALUES (8, 5, ?)", (b"\x01" * 32,))
            writes.save_tiles(conn, [(8, 5)])

        with pytest.raises(StorageError, match=r"nodes below node \(8, 5\) are incomplete"):
            await storage.committer.submit(root_without_children)
    finally:
        await storage.close()
