"""The Sequencer on real SQLite with a real Ed25519 key: it integrates exactly the committed
events, signs a checkpoint whose root is the RFC 9162 root of their leaves, and refuses a
range whose indices are not contiguous instead of integrating a short batch."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway import crypto
from gateway.audit.checkpoint import open_checkpoint, verifier_key
from gateway.audit.merkle import root_from_leaves
from gateway.sequencer import Sequencer
from gateway.storage import EventRow, SqliteStorage, StorageError, Transaction

pytestmark = pytest.mark.anyio
ORIGIN = "test.gateway/audit"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SqliteStorage]:
    s = SqliteStorage(tmp_path / "gateway.db")
    await s.open()
    yield s
    await s.close()


def _sequencer(storage: SqliteStorage, key: crypto.PrivateKey, batch: int) -> Sequencer:
    return Sequencer(
        storage,
        origin=ORIGIN,
        sign=key.sign,
        key_name=ORIGIN,
        public_key=crypto.public_key_bytes(key),
        clock=lambda: T0,
        batch=batch,
    )


def _events(start: int, n: int) -> list[EventRow]:
    return [EventRow(b'{"n":%d}' % i, "received", T0) for i in range(start, start + n)]


async def test_checkpoints_sign_the_root_of_the_committed_leaves(storage: SqliteStorage) -> None:
    key = crypto.generate()
    seq = _sequencer(storage, key, batch=7)  # several rounds, each signed
    await storage.commit(Transaction(events=_events(0, 20)))
    assert await seq.integrate() == 20
    latest = await storage.latest_checkpoint()
    assert latest is not None and latest.tree_size == 20
    cp = open_checkpoint(latest.note, verifier_key(ORIGIN, crypto.public_key_bytes(key)))
    assert cp.root_hash == root_from_leaves([b'{"n":%d}' % i for i in range(20)])
    assert [c.tree_size for c in await storage.checkpoints()] == [20, 14, 7]


async def test_a_gap_in_the_event_indices_is_refused_not_integrated(
    storage: SqliteStorage,
) -> None:
    seq = _sequencer(storage, crypto.generate(), batch=100)
    await storage.commit(Transaction(events=_events(0, 10)))
    await storage.committer.submit(lambda c: c.execute("DELETE FROM events WHERE idx = 4"))
    with pytest.raises(StorageError, match=r"10 events were expected from index 0, 9 were read"):
        await seq.integrate()
    assert await storage.tree_size() == 0
    assert await storage.latest_checkpoint() is None


@pytest.mark.parametrize("yields", [0, 1, 2, 3, 5])
async def test_stop_ends_the_sequencer_even_when_woken_as_it_is_cancelled(
    storage: SqliteStorage, yields: int
) -> None:
    """A commit's wake-up arriving with the stop (as when the app shuts down right after
    start-up) must not keep the sequencer running: on Python 3.11, `asyncio.wait_for`
    could swallow a cancellation whose inner wait had just completed, and `stop()` then
    waited forever (found through `gateway serve`'s lifespan)."""
    import asyncio

    key = crypto.generate()
    seq = _sequencer(storage, key, batch=64)
    seq.max_delay = 30.0
    await storage.commit(Transaction(events=_events(0, 3)))
    seq.kick()
    seq.start()
    for _ in range(yields):
        await asyncio.sleep(0)
    stopping = asyncio.create_task(seq.stop())
    done, _ = await asyncio.wait({stopping}, timeout=10)  # cannot be swallowed by stop()
    assert stopping in done, "stop() did not return within 10 s (the wake-up is 30 s away)"
    stopping.result()
    assert await storage.tree_size() == 3  # the final round still integrated everything


async def test_cancelling_the_caller_of_stop_is_not_swallowed() -> None:
    """stop() waits for the sequencer's task; a cancellation of stop()'s own caller (a
    shutdown timeout) must reach the caller, not be taken for the task's and dropped."""
    import asyncio

    from gateway.tasks import cancel_and_wait

    blocker = asyncio.Event()

    async def stubborn() -> None:
        try:
            await blocker.wait()
        except asyncio.CancelledError:
            await asyncio.sleep(30)  # a task slow to finish once cancelled

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    caller = asyncio.create_task(cancel_and_wait(task))
    await asyncio.sleep(0.05)
    caller.cancel()
    done, _ = await asyncio.wait({caller}, timeout=5)
    assert caller in done and caller.cancelled()
    task.cancel()
    await asyncio.wait({task}, timeout=5)
    assert task.done()
