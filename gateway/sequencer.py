"""The sequencer: integrates committed audit events into the Merkle tree and signs a
checkpoint, within `max_delay` of every commit (audit.md: default ≤ 1 s under any load).

Every gateway process runs one, but only the holder of `storage.sequencer_lock()` integrates
and signs (always this process on SQLite; one worker at a time on PostgreSQL, and another
takes over when the holder dies: docs/architecture.md, Concurrency). The tree is a function
of the log, so whichever worker signs, each checkpoint extends the previous one. It reads
only the new leaves and the tree's right frontier (O(log n) nodes), so a checkpoint costs
O(k log n) for k new events.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Sequence

from gateway.audit import tree
from gateway.audit.checkpoint import Checkpoint, sign_checkpoint
from gateway.audit.merkle import leaf_hash
from gateway.storage.base import NodeReader, Storage, StorageError, StoredCheckpoint
from gateway.tasks import cancel_and_wait

log = logging.getLogger("gateway.sequencer")

Node = tuple[tuple[int, int], bytes]


class _Overlay:
    """Stored nodes plus the ones computed in this batch, not yet written."""

    def __init__(self, base: NodeReader) -> None:
        self.base = base
        self.new: dict[tuple[int, int], bytes] = {}

    def get_nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        found = {k: self.new[k] for k in keys if k in self.new}
        missing = [k for k in keys if k not in found]
        if missing:
            found.update(self.base.get_nodes(missing))
        return found


class Sequencer:
    def __init__(
        self,
        storage: Storage,
        *,
        origin: str,
        sign: Callable[[bytes], bytes],
        key_name: str,
        public_key: bytes,
        clock: Callable[[], dt.datetime],
        max_delay: float = 1.0,
        batch: int = 20_000,
    ) -> None:
        self.storage = storage
        self.origin = origin
        self._sign = sign
        self.key_name = key_name
        self.public_key = public_key
        self.clock = clock
        self.max_delay = max_delay
        self.batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.checkpoints_signed = 0
        self.lock_busy = 0  # rounds skipped because another worker held the sequencer lock

    def kick(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="audit-sequencer")

    async def stop(self) -> None:
        """End the background rounds, then run a last one (nothing committed is left
        without a checkpoint). The loop also checks a flag: on Python 3.11 a cancellation
        that arrives as the wake-up wait completes can be lost."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping = True
            self._wake.set()
            await cancel_and_wait(task)
        try:
            await self.integrate()  # leave nothing committed but uncheckpointed
        except StorageError as exc:  # the database is away: the next sequencer heals it
            log.warning("final sequencer round failed: %s", exc)

    async def _run(self) -> None:
        # Wake on a commit, then wait a quarter of the bound so bursts share one checkpoint;
        # also wake periodically so a crash between commit and checkpoint is healed.
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.max_delay):
                    await self._wake.wait()
            if self._stopping:
                return
            self._wake.clear()
            await asyncio.sleep(self.max_delay / 4)
            try:
                await self.integrate()
            except Exception:  # keep sequencing; the next round retries
                log.exception("sequencer round failed")

    async def integrate(self) -> int:
        """Integrate every committed event; sign a checkpoint. Returns the new tree size.

        When another worker is integrating, return at once and look again next round
        (its round may have started before this worker's latest commit)."""
        async with self.storage.sequencer_lock() as held:
            if held:
                return await self._integrate()
        self.lock_busy += 1
        self._wake.set()
        return await self.storage.tree_size()

    async def _integrate(self) -> int:
        size = await self.storage.tree_size()
        count = await self.storage.event_count()
        latest = await self.storage.latest_checkpoint()
        if count == size and latest is not None and latest.tree_size == size:
            return size
        while True:
            end = min(count, size + self.batch)
            # the leaves alone (`leaf_rows`: no event objects, no time parsing)
            leaves = (await self.storage.leaf_rows(size, end)).leaf if end > size else []
            if len(leaves) != end - size:
                raise StorageError(
                    f"audit: {end - size} events were expected from index {size}, "
                    f"{len(leaves)} were read (the event indices must be contiguous)"
                )
            hashes = [leaf_hash(leaf) for leaf in leaves]
            nodes, root = await asyncio.to_thread(self._append, size, hashes)
            size = end
            note = sign_checkpoint(
                Checkpoint(origin=self.origin, size=size, root_hash=root),
                key_name=self.key_name,
                sign=self._sign,
                public_key=self.public_key,
            )
            await self.storage.save_tree(
                nodes,
                size,
                StoredCheckpoint(tree_size=size, root_hash=root, note=note, signed_at=self.clock()),
            )
            self.checkpoints_signed += 1
            if size >= count:
                return size

    def _append(self, size: int, hashes: Sequence[bytes]) -> tuple[list[Node], bytes]:
        overlay = _Overlay(self.storage.node_reader())
        new_nodes = tree.append_leaves(overlay, size, hashes) if hashes else []
        overlay.new.update(dict(new_nodes))
        root = tree.root_hash(overlay, size + len(hashes))
        return list(new_nodes), root
