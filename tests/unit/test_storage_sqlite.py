"""What only the SQLite backend has: pragmas, group commit batches, the migration runner,
crash durability, ping on a vanished folder, URL parsing and index use."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.storage import (
    DuplicateMessage,
    EventFilter,
    NonceReplayed,
    PostgresStorage,
    SqliteStorage,
    StorageError,
    StorageUnavailable,
    StorageURLError,
    open_storage,
)
from gateway.storage.sqlite import NonceFilter
from gateway.storage.sqlite_migrations import Migration, apply_migrations, bundled_migrations
from tests.storage_builders import message_tx

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SqliteStorage]:
    storage = SqliteStorage(tmp_path / "gateway.db")
    await storage.open()
    yield storage
    await storage.close()


def _pragma(storage: SqliteStorage, name: str) -> object:
    return storage.read_now(lambda c: c.execute(f"PRAGMA {name}").fetchone()[0])


async def test_durable_settings(db: SqliteStorage) -> None:
    on_writer = await db.committer.submit(
        lambda c: tuple(
            c.execute(f"PRAGMA {p}").fetchone()[0]
            for p in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        )
    )
    assert on_writer == ("wal", 2, 1, 5000)  # synchronous 2 = FULL
    assert await asyncio.to_thread(_pragma, db, "query_only") == 1


# ---- group commit ---------------------------------------------------------------------------


async def _hold_writer(db: SqliteStorage) -> tuple[threading.Event, asyncio.Future[None]]:
    """Keep the writer busy with one job so the next ones queue up into one batch."""
    busy, release = threading.Event(), threading.Event()

    def block(_: sqlite3.Connection) -> None:
        busy.set()
        release.wait(10)

    task = asyncio.ensure_future(db.committer.submit(block))
    await _until(busy.is_set)
    return release, task


async def test_group_commit_batches_concurrent_commits(db: SqliteStorage) -> None:
    release, blocker = await _hold_writer(db)
    batches = db.committer.batches
    commits = [asyncio.ensure_future(db.commit(message_tx(i))) for i in range(200)]
    await _until(lambda: db.committer.queued() == 200)
    release.set()
    await blocker
    results = await asyncio.gather(*commits)
    assert db.committer.batches - batches == 2  # the blocker's batch, then all 200 at once
    assert db.committer.largest_batch == 200
    assert sorted(i for r in results for i in r.event_indices) == list(range(600))


async def test_one_failing_transaction_rolls_back_alone_in_its_batch(db: SqliteStorage) -> None:
    await db.commit(message_tx(0, nonce="used"))
    await db.commit(message_tx(1, message_id="taken"))
    release, blocker = await _hold_writer(db)
    batches = db.committer.batches
    txs = [
        message_tx(2),
        message_tx(3, nonce="used"),
        message_tx(4),
        message_tx(5, message_id="taken"),
        message_tx(6),
    ]
    futures = [asyncio.ensure_future(db.commit(t)) for t in txs]
    await _until(lambda: db.committer.queued() == 5)
    release.set()
    await blocker
    results = await asyncio.gather(*futures, return_exceptions=True)
    assert db.committer.batches - batches == 2
    assert isinstance(results[1], NonceReplayed)
    assert isinstance(results[3], DuplicateMessage)
    assert results[3].existing.received_index == 3
    assert [r.event_indices for r in results if not isinstance(r, BaseException)] == [
        (6, 7, 8),
        (9, 10, 11),
        (12, 13, 14),
    ]
    assert await db.event_count() == 15
    for n, ok in ((2, True), (3, False), (4, True), (6, True)):
        assert (await db.find_message("ncb-fr", f"msg-{n:05d}") is not None) is ok
    for body in txs[1].bodies[1:] + txs[3].bodies:
        assert await db.get_body(body.sha256) is None
    assert await db.deliveries_of_message("msg-00003") == []


async def test_a_refused_transaction_alone_in_its_batch_leaves_nothing(db: SqliteStorage) -> None:
    # A batch of one runs without a savepoint: its refusal rolls back the whole transaction.
    await db.commit(message_tx(0, nonce="used"))
    batches = db.committer.batches
    tx = message_tx(1, nonce="used")
    with pytest.raises(NonceReplayed):
        await db.commit(tx)
    with pytest.raises(DuplicateMessage):
        await db.commit(message_tx(2, message_id="msg-00000"))
    assert db.committer.batches - batches == 2
    assert await db.event_count() == 3
    assert await db.find_message("ncb-fr", "msg-00001") is None
    for body in tx.bodies:
        assert await db.get_body(body.sha256) is None
    assert (await db.commit(message_tx(3))).event_indices == (3, 4, 5)
    assert not db.read_now(lambda c: c.in_transaction)


async def test_failed_commit_fails_the_whole_batch(db: SqliteStorage) -> None:
    # A deferred foreign key violation makes the COMMIT itself fail (a real SQLite error).
    def poison(c: sqlite3.Connection) -> None:
        c.execute("PRAGMA defer_foreign_keys = ON")
        c.execute(
            "INSERT INTO messages VALUES ('s', 'm', 'no-such-body', 'publish', 'k', 0, x'',"
            " 0, 'k', 'sig')"
        )

    release, blocker = await _hold_writer(db)
    good = [asyncio.ensure_future(db.commit(message_tx(i))) for i in range(3)]
    bad = asyncio.ensure_future(db.committer.submit(poison))
    await _until(lambda: db.committer.queued() == 4)
    release.set()
    await blocker
    results = await asyncio.gather(*good, bad, return_exceptions=True)
    assert all(isinstance(r, StorageUnavailable) for r in results), results
    assert "nothing of it is stored" in str(results[0])
    assert await db.event_count() == 0
    # the writer goes on: the next batch commits, from index 0
    assert (await db.commit(message_tx(9))).event_indices == (0, 1, 2)


async def test_an_io_error_in_one_job_fails_its_batch_as_unavailable(db: SqliteStorage) -> None:
    def broken(c: sqlite3.Connection) -> None:
        c.execute("SELECT * FROM no_such_table")

    release, blocker = await _hold_writer(db)
    good = asyncio.ensure_future(db.commit(message_tx(1)))
    bad = asyncio.ensure_future(db.committer.submit(broken))
    await _until(lambda: db.committer.queued() == 2)
    release.set()
    await blocker
    results = await asyncio.gather(good, bad, return_exceptions=True)
    assert all(isinstance(r, StorageUnavailable) for r in results)
    assert await db.event_count() == 0


async def test_close_drains_the_queue(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "g.db")
    await storage.open()
    release, blocker = await _hold_writer(storage)
    commits = [asyncio.ensure_future(storage.commit(message_tx(i))) for i in range(20)]
    await _until(lambda: storage.committer.queued() == 20)
    closing = asyncio.ensure_future(storage.close())
    await asyncio.sleep(0)
    with pytest.raises(StorageUnavailable, match="is not open"):
        await storage.commit(message_tx(99))
    release.set()
    await asyncio.gather(blocker, closing)
    assert len(await asyncio.gather(*commits)) == 20  # every queued one committed
    again = SqliteStorage(tmp_path / "g.db")
    await again.open()
    try:
        assert await again.event_count() == 60
    finally:
        await again.close()


async def test_the_event_loop_keeps_running_during_commits(db: SqliteStorage) -> None:
    ticks = 0
    stop = asyncio.Event()

    async def heartbeat() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0)

    beat = asyncio.ensure_future(heartbeat())
    for i in range(20):  # sequential: 20 fsyncs the loop must not wait for
        await db.commit(message_tx(i))
    stop.set()
    await beat
    assert ticks > 20


# ---- crash durability ---------------------------------------------------------------------------

_CRASHER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from gateway.storage import SqliteStorage
    from tests.storage_builders import message_tx

    async def main() -> None:
        storage = SqliteStorage(sys.argv[1])
        await storage.open()

        async def one(n: int) -> None:
            result = await storage.commit(message_tx(n))
            print(n, *result.event_indices, flush=True)

        tasks = [asyncio.ensure_future(one(n)) for n in range(400)]
        done = 0
        for next_done in asyncio.as_completed(tasks):
            await next_done
            done += 1
            if done == 150:  # told 150 callers "committed": die now, mid-stream, no close()
                os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())
    """
)


async def test_what_a_killed_process_was_told_is_committed_is_there(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", _CRASHER, str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    acknowledged = [list(map(int, line.split())) for line in proc.stdout.splitlines()]
    assert len(acknowledged) >= 150
    storage = SqliteStorage(path)
    await storage.open()
    try:
        count = await storage.event_count()
        events = {e.index: e.leaf for e in await storage.get_events(0, count)}
        assert sorted(events) == list(range(count))  # no gaps, even after a crash
        for n, *indices in acknowledged:
            tx = message_tx(n)
            assert [events[i] for i in indices] == [e.leaf for e in tx.events]
            assert await storage.find_message("ncb-fr", f"msg-{n:05d}") is not None
            assert len(await storage.deliveries_of_message(f"msg-{n:05d}")) == 2
    finally:
        await storage.close()


# ---- migrations -------------------------------------------------------------------------------


async def test_migrations_are_applied_once(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    for _ in range(3):
        storage = SqliteStorage(path)
        await storage.open()
        await storage.close()
    conn = sqlite3.connect(path)
    try:
        versions = conn.execute("SELECT version, name FROM schema_version").fetchall()
        assert versions == [(m.version, m.name) for m in bundled_migrations()]
        assert apply_migrations(conn) == []
    finally:
        conn.close()


def test_migration_runner_applies_in_order_and_rolls_back_a_broken_file(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "r.db", isolation_level=None)
    try:
        first = Migration(1, "one", "CREATE TABLE a (x INTEGER);\nINSERT INTO a VALUES (1);\n")
        broken = Migration(2, "two", "CREATE TABLE b (y INTEGER);\nINSERT INTO nowhere VALUES (2);")
        with pytest.raises(sqlite3.OperationalError, match="nowhere"):
            apply_migrations(conn, [first, broken])
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "a" in tables and "b" not in tables  # file 2 rolled back whole
        fixed = Migration(2, "two", "CREATE TABLE b (y INTEGER);")
        assert apply_migrations(conn, [first, fixed]) == [2]
        newer = [first]
        with pytest.raises(RuntimeError, match="newer than this gateway knows"):
            apply_migrations(conn, newer)
    finally:
        conn.close()


# ---- availability -------------------------------------------------------------------------------


async def test_ping_fails_when_the_folder_vanishes(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    storage = SqliteStorage(folder / "g.db")
    await storage.open()
    try:
        await storage.ping()
        shutil.rmtree(folder)
        with pytest.raises(StorageUnavailable, match="is gone"):
            await storage.ping()
    finally:
        await storage.close()


async def test_open_fails_clearly_where_no_database_can_be(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    storage = SqliteStorage(blocker / "g.db")
    with pytest.raises(StorageUnavailable, match="cannot open"):
        await storage.open()


# ---- URLs -----------------------------------------------------------------------------------


def test_open_storage_urls(tmp_path: Path) -> None:
    absolute = open_storage(f"sqlite:///{tmp_path}/g.db")
    assert isinstance(absolute, SqliteStorage) and absolute.path == tmp_path / "g.db"
    relative = open_storage("sqlite:///var/gateway.db")
    assert isinstance(relative, SqliteStorage) and relative.path == Path("var/gateway.db")
    for bad in ("sqlite://:memory:", "sqlite:///:memory:", "sqlite://", "sqlite:///"):
        with pytest.raises(StorageURLError, match=r"does not name a database file|host part"):
            open_storage(bad)
    shared = open_storage("postgresql://gw@db/gateway")
    assert isinstance(shared, PostgresStorage) and shared.url == "postgresql://gw@db/gateway"
    with pytest.raises(StorageURLError, match="unknown URL scheme 'mysql'"):
        open_storage("mysql://x/y")
    assert issubclass(StorageURLError, StorageError)


# ---- index use (what keeps searches fast on millions of rows) -------------------------------


@pytest.mark.parametrize(
    ("flt", "index"),
    [
        (EventFilter(message_id="m"), "events_message_id"),
        (EventFilter(participant="p"), "events_participant"),
        (EventFilter(kind="k"), "events_kind"),
        (EventFilter(outcome="o"), "events_outcome"),
    ],
)
def test_searches_walk_a_composite_index_without_sorting(
    tmp_path: Path, flt: EventFilter, index: str
) -> None:
    conn = sqlite3.connect(tmp_path / "plan.db", isolation_level=None)
    try:
        apply_migrations(conn)
        column, value = next((k, v) for k, v in vars_of(flt).items() if v is not None)
        for order, cursor in (("DESC", "idx < ?"), ("ASC", "idx > ?")):
            plan = " | ".join(
                row[3]
                for row in conn.execute(
                    f"EXPLAIN QUERY PLAN SELECT * FROM events WHERE {column} = ? AND {cursor}"
                    f" ORDER BY idx {order} LIMIT 50",
                    (value, 10),
                )
            )
            assert index in plan and "TEMP B-TREE" not in plan, plan
    finally:
        conn.close()


def vars_of(flt: EventFilter) -> dict[str, object]:
    return {k: getattr(flt, k) for k in ("message_id", "participant", "kind", "outcome")}


async def _until(condition: object, timeout: float = 10.0) -> None:
    """Poll ``condition`` (a callable) until true, with a deadline; never a fixed sleep."""
    assert callable(condition)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met within the deadline")
        await asyncio.sleep(0.001)


def test_node_reads_search_the_primary_key_not_the_table() -> None:
    """A proof reads O(log n) nodes; each must be one index search (a scan made proofs
    O(n) at a million entries)."""
    import sqlite3

    from gateway.storage.sqlite import _get_nodes

    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,"
        " PRIMARY KEY (level, idx)) WITHOUT ROWID"
    )
    conn.executemany("INSERT INTO nodes VALUES (?, ?, ?)", [(0, i, b"h") for i in range(100)])
    plans: list[str] = []
    original = conn.execute

    class Spy:
        def execute(self, sql: str, params: object = ()) -> object:
            plans.extend(str(r) for r in original("EXPLAIN QUERY PLAN " + sql, params))
            return original(sql, params)

    found = _get_nodes(Spy(), [(0, 3), (0, 7), (1, 0)])  # type: ignore[arg-type]
    assert found == {(0, 3): b"h", (0, 7): b"h"}
    assert any("USING PRIMARY KEY" in p for p in plans), plans
    assert not any("SCAN nodes" in p for p in plans), plans


# ---- the nonce filter ---------------------------------------------------------------------------


def test_nonce_filter_holds_what_was_added_until_its_minute_is_purged() -> None:
    f = NonceFilter()
    minute = NonceFilter.BUCKET_US
    f.add("k", "a", 10 * minute + 5)
    f.add("k", "b", 11 * minute)
    assert f.may_hold("k", "a") and f.may_hold("k", "b")
    assert not f.may_hold("k", "c") and not f.may_hold("k2", "a")
    f.forget_expired(11 * minute - 1)  # minute 10 is not wholly before: kept
    assert f.may_hold("k", "a")
    f.forget_expired(11 * minute)  # every expiry of minute 10 is < 11 * minute
    assert not f.may_hold("k", "a") and f.may_hold("k", "b")


def test_nonce_filter_past_its_limit_lets_the_table_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NonceFilter, "LIMIT", 2)
    f = NonceFilter()
    f.add("k", "a", 0)
    f.add("k", "b", 0)
    assert not f.may_hold("k", "z")
    f.add("k", "c", 0)
    assert f.may_hold("k", "z")  # "maybe": the caller reads the table


async def test_nonce_seen_reads_the_table_only_for_a_pair_the_filter_may_hold(
    db: SqliteStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    await db.commit(message_tx(1, nonce="stored"))
    reads: list[object] = []
    real_read = db._read

    async def counting(query: object) -> object:
        reads.append(query)
        return await real_read(query)  # type: ignore[arg-type]

    monkeypatch.setattr(db, "_read", counting)
    assert not await db.nonce_seen("ncb-fr-2026", "fresh")
    assert reads == []  # answered from memory
    assert await db.nonce_seen("ncb-fr-2026", "stored")
    assert len(reads) == 1  # a replay: the table confirms
    # A false "maybe" (as a hash collision would give) is settled by the table.
    monkeypatch.setattr(NonceFilter, "may_hold", lambda self, keyid, nonce: True)
    assert not await db.nonce_seen("ncb-fr-2026", "fresh")


async def test_the_nonce_filter_is_filled_before_the_commit_is_durable(db: SqliteStorage) -> None:
    # The filter stays a superset of the table: a concurrent request with the same nonce,
    # checked while the first is still queued, goes to the table (and the unique
    # constraint refuses whichever commits second).
    release, blocker = await _hold_writer(db)
    pending = asyncio.ensure_future(db.commit(message_tx(1, nonce="racing")))
    await _until(lambda: db.committer.queued() == 1)
    assert db._nonces.may_hold("ncb-fr-2026", "racing")
    assert not await db.nonce_seen("ncb-fr-2026", "racing")  # not stored yet
    release.set()
    await blocker
    await pending
    assert await db.nonce_seen("ncb-fr-2026", "racing")
    with pytest.raises(NonceReplayed):
        await db.commit(message_tx(2, nonce="racing"))
