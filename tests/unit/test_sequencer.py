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
