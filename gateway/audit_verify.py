"""Offline verification of a whole audit log: from the database or from an export file.

Leaf by leaf: every entry's hash is recomputed from its bytes, folded into the tree's
right frontier (O(log n) memory), and the root is compared with every signed checkpoint
the log holds, whose signatures are checked first with the verifier key. The first entry
that does not verify is named:

- an index missing or out of order (a row removed or reordered) is named directly;
- a leaf whose bytes changed is named by comparing with the stored leaf hash (level-0
  node) when the database still has it, else by the first checkpoint whose root differs
  (the bad entry lies between that checkpoint and the previous one);
- a leaf whose search columns (kind, message id, …) disagree with its signed bytes.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson

from gateway.audit.checkpoint import open_checkpoint
from gateway.audit.merkle import leaf_hash, node_hash

if TYPE_CHECKING:
    from gateway.storage.base import Storage

EXPORT_FORMAT = "gateway-audit-export"
EXPORT_VERSION = 1
EMPTY_ROOT = hashlib.sha256(b"").digest()


class VerificationFailed(Exception):
    """The log does not verify; ``index`` is the first entry at fault when it is known."""

    def __init__(self, message: str, index: int | None = None) -> None:
        self.index = index
        super().__init__(message)


class RootAccumulator:
    """RFC 9162 §2.1.1 tree head computed leaf by leaf from the right frontier."""

    def __init__(self) -> None:
        self.size = 0
        self._frontier: list[tuple[int, bytes]] = []  # (height, hash), strictly decreasing heights

    def add(self, lh: bytes) -> None:
        height, node = 0, lh
        while self._frontier and self._frontier[-1][0] == height:
            _, left = self._frontier.pop()
            node = node_hash(left, node)
            height += 1
        self._frontier.append((height, node))
        self.size += 1

    def root(self) -> bytes:
        if not self._frontier:
            return EMPTY_ROOT
        node = self._frontier[-1][1]
        for _, left in reversed(self._frontier[:-1]):
            node = node_hash(left, node)
        return node


@dataclass(frozen=True, slots=True)
class Entry:
    index: int
    leaf: bytes
    columns: dict[str, object] | None = None  # search columns the database keeps beside the leaf
    stored_leaf_hash: bytes | None = None


@dataclass
class Report:
    entries: int = 0
    checkpoints_checked: int = 0
    tree_size: int = 0
    root_b64: str = ""
    notes: list[str] = field(default_factory=list)


def _check_columns(entry: Entry) -> None:
    if entry.columns is None:
        return
    try:
        event = orjson.loads(entry.leaf)
    except orjson.JSONDecodeError as exc:
        raise VerificationFailed(f"entry {entry.index}: leaf is not JSON", entry.index) from exc
    if not isinstance(event, dict):
        raise VerificationFailed(f"entry {entry.index}: leaf is not a JSON object", entry.index)
    for name, value in entry.columns.items():
        if event.get(name) != value:
            raise VerificationFailed(
                f"entry {entry.index}: column {name} is {value!r} but the signed leaf says "
                f"{event.get(name)!r}",
                entry.index,
            )


async def verify_entries(
    entries: AsyncIterator[Entry],
    checkpoints: Iterable[tuple[int, bytes]],  # (tree_size, signed note), any order
    verifier_key: str,
    *,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Verify entries 0..n-1 against every checkpoint; raise VerificationFailed naming the
    first bad entry."""
    signed: dict[int, bytes] = {}
    for size, note in checkpoints:
        cp = open_checkpoint(note, verifier_key)
        if cp.size != size:
            raise VerificationFailed(f"checkpoint stored for size {size} says size {cp.size}")
        signed[size] = cp.root_hash
    if not signed:
        raise VerificationFailed("no signed checkpoint to verify against")
    latest = max(signed)
    report = Report(checkpoints_checked=len(signed), tree_size=latest)
    acc = RootAccumulator()
    last_good = 0
    if 0 in signed and signed[0] != EMPTY_ROOT:
        raise VerificationFailed("the checkpoint of the empty tree has a wrong root")
    async for entry in entries:
        if entry.index != acc.size:
            raise VerificationFailed(
                f"entry {acc.size} is missing: the next stored entry is {entry.index} "
                "(an entry was removed or reordered)",
                acc.size,
            )
        lh = leaf_hash(entry.leaf)
        if entry.stored_leaf_hash is not None and entry.stored_leaf_hash != lh:
            raise VerificationFailed(
                f"entry {entry.index}: its bytes do not hash to the leaf hash integrated into "
                "the tree (the entry was changed after it was logged)",
                entry.index,
            )
        _check_columns(entry)
        acc.add(lh)
        report.entries += 1
        if progress is not None:
            progress(acc.size)
        root = signed.get(acc.size)
        if root is not None:
            if acc.root() != root:
                raise VerificationFailed(
                    f"entries {last_good}..{acc.size - 1} do not match the signed checkpoint "
                    f"of size {acc.size}: the first bad entry is in that range",
                    last_good,
                )
            last_good = acc.size
        if acc.size >= latest:
            break
    if acc.size < latest:
        raise VerificationFailed(
            f"the log has {acc.size} entries but its latest checkpoint covers {latest}: "
            f"entry {acc.size} onwards is missing",
            acc.size,
        )
    report.root_b64 = base64.b64encode(acc.root()).decode("ascii")
    return report


def export_header(origin: str, verifier_key: str, checkpoint_note: bytes, size: int) -> bytes:
    return orjson.dumps(
        {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "origin": origin,
            "verifier_key": verifier_key,
            "tree_size": size,
            "checkpoint": checkpoint_note.decode("utf-8"),
        }
    )


def export_line(index: int, leaf: bytes) -> bytes:
    return orjson.dumps({"index": index, "leaf_b64": base64.b64encode(leaf).decode("ascii")})


async def verify_storage(
    storage: Storage,
    verifier_key: str,
    *,
    chunk: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Verify the log a database holds, from entry 0 to its latest checkpoint, reading
    ``chunk`` entries (and their stored leaf hashes) at a time: memory stays O(chunk)."""
    import asyncio

    checkpoints = await storage.checkpoints(limit=1_000_000)
    if not checkpoints:
        raise VerificationFailed("no signed checkpoint to verify against")
    latest = max(c.tree_size for c in checkpoints)
    reader = storage.node_reader()

    async def entries() -> AsyncIterator[Entry]:
        for start in range(0, latest, chunk):
            rows = await storage.get_events(start, min(start + chunk, latest))
            stored = await asyncio.to_thread(reader.get_nodes, [(0, r.index) for r in rows])
            for r in rows:
                yield Entry(
                    index=r.index,
                    leaf=r.leaf,
                    columns={"kind": r.kind, "message_id": r.message_id, "outcome": r.outcome},
                    stored_leaf_hash=stored.get((0, r.index)),
                )

    return await verify_entries(
        entries(), [(c.tree_size, c.note) for c in checkpoints], verifier_key, progress=progress
    )
