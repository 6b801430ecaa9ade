"""`gateway audit verify --nodes` (gateway.audit_nodes): every stored node of the tree, and
every SQLite tile, against the tree recomputed from the level-0 hashes. On a real SQLite
log of 2^17 + 300 entries written the way the Sequencer writes it (two complete blocks of
2^16, a level-17 node above them, an incomplete right edge), then tampered with: a changed
or missing node at any level, a changed tile of either tier, and a missing tile (counted,
not a failure: proofs read `nodes` there). `node_range` on both backends."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gateway.audit import tree
from gateway.audit_nodes import verify_nodes
from gateway.audit_verify import VerificationFailed
from gateway.storage import SqliteStorage
from gateway.storage import sqlite_writes as writes
from tests.storage_builders import build_tree_log, grow_tree_log

if TYPE_CHECKING:
    from tests.storage_fixtures import StorageSite

pytestmark = pytest.mark.anyio
pytest_plugins = ["tests.storage_fixtures"]

SIZE = (1 << 17) + 300


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tree.MemoryNodeStore]:
    path = tmp_path_factory.mktemp("nodes") / "gateway.db"
    return path, build_tree_log(path, SIZE)


@pytest.fixture
def copy(built: tuple[Path, tree.MemoryNodeStore], tmp_path: Path) -> Path:
    """A copy of the built database, for one test to tamper with."""
    target = tmp_path / "gateway.db"
    shutil.copy(built[0], target)
    return target


async def _verify(path: Path, size: int = SIZE) -> tuple[int, int, int]:
    storage = SqliteStorage(path)
    await storage.open()
    try:
        report = await verify_nodes(storage, size)
        return report.nodes, report.tiles, report.tiles_missing
    finally:
        await storage.close()


def _tamper(path: Path, sql: str, *params: object) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute(sql, params).rowcount == 1
    conn.close()


def _complete_nodes(size: int) -> int:
    """Stored nodes of complete subtrees within `size` leaves: sum over levels."""
    return sum(size >> level for level in range(size.bit_length()))


async def test_an_intact_tree_verifies_every_node_and_tile(copy: Path) -> None:
    nodes, tiles, missing = await _verify(copy)
    assert nodes == _complete_nodes(SIZE)
    assert tiles == (SIZE >> 8) + (SIZE >> 16) and missing == 0
    # at a smaller checkpoint size, only the subtrees complete within it
    nodes, tiles, _ = await _verify(copy, 70_000)
    assert nodes == _complete_nodes(70_000)
    assert tiles == (70_000 >> 8) + 1


@pytest.mark.parametrize(
    ("level", "idx"),
    [(1, 5), (3, 100), (8, 300), (12, 17), (16, 1), (17, 0)],
)
async def test_a_changed_node_is_named(copy: Path, level: int, idx: int) -> None:
    _tamper(copy, "UPDATE nodes SET hash = zeroblob(32) WHERE level = ? AND idx = ?", level, idx)
    with pytest.raises(VerificationFailed) as failed:
        await _verify(copy)
    first = idx << level
    assert f"tree node (level {level}, index {idx}) over entries {first}.." in str(failed.value)
    assert "differs" in str(failed.value)
    assert failed.value.index == first


@pytest.mark.parametrize(("level", "idx"), [(0, 70_001), (2, 9), (16, 0)])
async def test_a_missing_node_is_named(copy: Path, level: int, idx: int) -> None:
    _tamper(copy, "DELETE FROM nodes WHERE level = ? AND idx = ?", level, idx)
    with pytest.raises(VerificationFailed) as failed:
        await _verify(copy)
    assert f"(level {level}, index {idx})" in str(failed.value)
    assert "missing" in str(failed.value)
    assert failed.value.index == idx << level


@pytest.mark.parametrize(("tier", "index"), [(0, 0), (0, 300), (1, 1)])
async def test_a_changed_tile_is_named(copy: Path, tier: int, index: int) -> None:
    with sqlite3.connect(copy) as conn:
        (blob,) = conn.execute(
            "SELECT hashes FROM tiles WHERE id = ?", (writes.tile_id(tier, index),)
        ).fetchone()
        changed = blob[:64] + bytes(32) + blob[96:]  # one node, same length
        conn.execute(
            "UPDATE tiles SET hashes = ? WHERE id = ?", (changed, writes.tile_id(tier, index))
        )
    conn.close()
    with pytest.raises(VerificationFailed) as failed:
        await _verify(copy)
    level = 8 * (tier + 1)
    assert f"tile of tree node (level {level}, index {index})" in str(failed.value)


async def test_a_missing_tile_is_counted_not_failed(copy: Path) -> None:
    _tamper(copy, "DELETE FROM tiles WHERE id = ?", writes.tile_id(0, 42))
    # opening rebuilds only a missing *last* tile; one in the middle stays missing
    nodes, tiles, missing = await _verify(copy)
    assert missing == 1 and tiles == (SIZE >> 8) + (SIZE >> 16) - 1
    assert nodes == _complete_nodes(SIZE)


async def test_node_range_reads_one_level_in_order_on_every_backend(site: StorageSite) -> None:
    storage = await site.open()
    store = tree.MemoryNodeStore()
    await grow_tree_log(storage, store, 0, 1000)
    for level, start, end in ((0, 0, 1000), (0, 990, 2000), (3, 10, 20), (9, 0, 5)):
        got = await storage.node_range(level, start, end)
        want = [
            (i, store.nodes[(level, i)])
            for i in range(start, end)
            if (level, i) in store.nodes and (i + 1) << level <= 1000
        ]
        assert got == want, (level, start, end)
    report = await verify_nodes(storage, 1000)
    assert report.nodes == _complete_nodes(1000)
