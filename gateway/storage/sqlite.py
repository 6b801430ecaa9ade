"""The embedded storage backend: one SQLite file in WAL mode with durable group commit.

Writes (`commit`, `claim_deliveries`, `save_tree`, `purge_nonces`, `erase_bodies`) go to
one writer thread (`gateway.storage.group_commit`) that shares one fsync among every
transaction waiting; each caller is answered only after that COMMIT. Reads run in worker
threads on their own connections (one per thread): WAL lets them read the last committed
state beside the writer. No method blocks the event loop. See docs/storage.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import itertools
import logging
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from gateway.audit.tree import UpperNodeCache
from gateway.storage import sqlite_rows as rows
from gateway.storage import sqlite_writes as writes
from gateway.storage.base import (
    AttemptRow,
    CommitResult,
    Delivery,
    DeliveryState,
    EventCount,
    EventFilter,
    IngressFacts,
    LeafRows,
    PackedHashes,
    StorageUnavailable,
    StoredBody,
    StoredCheckpoint,
    StoredEvent,
    StoredMessage,
    StoredRequest,
    Transaction,
)
from gateway.storage.event_search import UNSET, Unset, event_search_sql
from gateway.storage.group_commit import GroupCommitter
from gateway.storage.sqlite_migrations import apply_migrations

__all__ = ["SqliteNodeReader", "SqliteStorage"]

T = TypeVar("T")

log = logging.getLogger(__name__)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_NODE_CHUNK = 400  # (level, idx) pairs per query: 800 parameters, far below SQLite's limit
_READ_MMAP = 1 << 40  # bytes of the file read through mmap (SQLite lowers it to its maximum)


# ---- the backend ------------------------------------------------------------------------------


class SqliteNodeReader:
    """`NodeReader` over the storage's per-thread read connections (call from a worker thread)."""

    def __init__(self, storage: SqliteStorage) -> None:
        self._storage = storage

    def get_nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        # the tree's upper levels from memory (tree.UpperNodeCache), the rest in one read
        return self._storage.node_cache.read(keys, self._fetch)

    @property
    def range_memo(self) -> dict[tuple[int, int], bytes]:
        return self._storage.node_cache.ranges

    def _fetch(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        tiled = self._storage.tiled_size
        return self._storage.read_now(lambda conn: _get_nodes_tiled(conn, keys, tiled))


_TILED_LEVELS = writes.TILE_LEVELS * writes.TILE_TIERS
_TILE_BYTES = 32 * writes.TILE_HASHES


@functools.lru_cache(maxsize=64)
def _tiles_sql(count: int) -> str:
    return f"SELECT id, hashes FROM tiles WHERE id IN ({', '.join(['?'] * count)})"


def _get_nodes_tiled(
    conn: sqlite3.Connection, keys: Sequence[tuple[int, int]], tiled_size: int
) -> dict[tuple[int, int], bytes]:
    """Nodes of levels below 16 from their tiles (one row per 8 levels) when the tile's
    subtree lies within the first ``tiled_size`` leaves (every such tile is stored: the
    writer adds it with the subtree's root); the others, and any tile not found, from
    `nodes` (docs/storage.md, "Tiles")."""
    by_tile: dict[int, list[tuple[int, int]]] = {}
    rest: list[tuple[int, int]] = []
    for key in keys:
        if key[0] < _TILED_LEVELS:
            tier, tile = writes.tile_holding(*key)
            if (tile + 1) << (writes.TILE_LEVELS * (tier + 1)) <= tiled_size:  # complete
                by_tile.setdefault(writes.tile_id(tier, tile), []).append(key)
                continue
        rest.append(key)
    found: dict[tuple[int, int], bytes] = {}
    if by_tile:
        ids = list(by_tile)
        for tile_id, blob in conn.execute(_tiles_sql(len(ids)), ids):
            if len(blob) != _TILE_BYTES:
                continue  # not a tile: its nodes come from `nodes`
            for key in by_tile.pop(tile_id):
                at = writes.tile_offset(*key)
                found[key] = blob[at : at + 32]
        for left in by_tile.values():
            rest.extend(left)
    if rest:
        found.update(_get_nodes(conn, rest))
    return found


@functools.lru_cache(maxsize=2 * _NODE_CHUNK)
def _nodes_sql(count: int) -> str:
    # The keys drive the loop so each is one primary-key search; a row-value
    # `(level, idx) IN (VALUES …)` makes SQLite scan the whole table instead.
    values = ", ".join(["(?, ?)"] * count)
    return (
        f"SELECT n.level, n.idx, n.hash FROM (VALUES {values}) AS k "
        "JOIN nodes AS n ON n.level = k.column1 AND n.idx = k.column2"
    )


def _get_nodes(
    conn: sqlite3.Connection, keys: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    found: dict[tuple[int, int], bytes] = {}
    for start in range(0, len(keys), _NODE_CHUNK):
        chunk = keys[start : start + _NODE_CHUNK]
        rows = conn.execute(_nodes_sql(len(chunk)), list(itertools.chain.from_iterable(chunk)))
        for level, idx, digest in rows:
            found[(level, idx)] = digest if type(digest) is bytes else bytes(digest)
    return found


# The level-0 nodes of a range as one blob, in idx order (an explicit ORDER BY from SQLite
# 3.44; before it, the order of the primary-key range scan, which the caller checks).
_PACKED_LEAF_HASHES = (
    "SELECT count(*), min(idx), max(idx), CAST(group_concat(hash, ''{order}) AS BLOB)"
    " FROM nodes"
    " WHERE level = 0 AND idx >= ? AND idx < ?"
).format(order=" ORDER BY idx" if sqlite3.sqlite_version_info >= (3, 44) else "")


def _leaf_rows(conn: sqlite3.Connection, start: int, end: int) -> LeafRows:
    # Range scans in one snapshot (a join would search the nodes index once per entry); the
    # leaf hashes come as one blob when they match the entries one to one.
    conn.execute("BEGIN")
    try:
        events = conn.execute(
            f"SELECT {rows.LEAF_COLUMNS} FROM events WHERE idx >= ? AND idx < ? ORDER BY idx",
            (start, end),
        ).fetchall()
        count, low, high, blob = conn.execute(_PACKED_LEAF_HASHES, (start, end)).fetchone()
        nodes: list[tuple[int, bytes]] | PackedHashes
        if (
            events
            and count == len(events)
            and (low, high) == (events[0][0], events[-1][0])
            and high - low == count - 1
            and isinstance(blob, bytes)
            and len(blob) == 32 * count
        ):
            nodes = PackedHashes(blob)
        else:
            nodes = conn.execute(
                "SELECT idx, hash FROM nodes WHERE level = 0 AND idx >= ? AND idx < ? ORDER BY idx",
                (start, end),
            ).fetchall()
    finally:
        conn.execute("COMMIT")
    return rows.leaf_rows_from(events, nodes)


def _notice_for_reference(c: sqlite3.Connection, system: str, reference: str) -> str | None:
    row = c.execute(
        "SELECT notice_key FROM notice_references WHERE system = ? AND reference = ?",
        (system, reference),
    ).fetchone()
    return None if row is None else str(row[0])


def _references_of(c: sqlite3.Connection, notice_key: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for system, reference in c.execute(
        "SELECT system, reference FROM notice_references WHERE notice_key = ? ORDER BY rowid",
        (notice_key,),
    ):
        found.setdefault(system, reference)  # the first reference per system wins
    return found


def _recipients_of(c: sqlite3.Connection, notice_key: str) -> frozenset[str]:
    return frozenset(
        r[0]
        for r in c.execute(
            "SELECT DISTINCT recipient FROM deliveries WHERE notice_key = ?", (notice_key,)
        )
    )


class NonceFilter:
    """The (keyid, nonce) pairs the `nonces` table may hold, in memory: a superset of the
    table, so a pair it does not hold is certainly not stored and `nonce_seen` answers
    False without a read (most requests); a pair it holds (a replay, or a 64-bit hash
    collision) is looked up in the table, which decides. It stays a superset because one
    process owns a SQLite file (docs/architecture.md) and every pair is added before the
    transaction that inserts it is even queued; pairs are forgotten only once their rows'
    expiry is past a purge (their whole bucket). A signature carrying such a pair is stale
    anyway: a nonce expires 2 x clock skew + 60 s after its request arrived."""

    BUCKET_US = 60_000_000  # one set per minute of expiry: a purge drops whole sets
    # Memory: ~70 B a pair; the pairs of one freshness window (2 x 300 s + 60 s by default,
    # plus up to a minute before a purge) at a few hundred messages/s is a few MiB. Beyond
    # LIMIT (~35 MiB) the filter switches itself off and the table alone answers.
    LIMIT = 500_000

    __slots__ = ("_buckets", "_size", "enabled")

    def __init__(self) -> None:
        self._buckets: dict[int, set[int]] = {}
        self._size = 0
        self.enabled = True

    def add(self, keyid: str, nonce: str, expires_us: int) -> None:
        if not self.enabled:
            return
        if self._size >= self.LIMIT:
            self.enabled = False  # may_hold answers True from now on: the table decides
            self._buckets.clear()
            return
        self._buckets.setdefault(expires_us // self.BUCKET_US, set()).add(hash((keyid, nonce)))
        self._size += 1

    def may_hold(self, keyid: str, nonce: str) -> bool:
        if not self.enabled:
            return True
        key = hash((keyid, nonce))
        return any(key in bucket for bucket in self._buckets.values())

    def forget_expired(self, before_us: int) -> None:
        """Forget the pairs whose rows a purge of expiries before ``before_us`` deleted."""
        for k in [k for k in self._buckets if (k + 1) * self.BUCKET_US <= before_us]:
            self._size -= len(self._buckets.pop(k))


class SqliteStorage:
    """`Storage` on one SQLite file (WAL, synchronous=FULL, foreign keys, group commit)."""

    def __init__(
        self,
        path: Path | str,
        *,
        max_batch: int = 256,
        busy_timeout_ms: int = 5000,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self.path = Path(path)
        self._max_batch = max_batch
        self._busy_timeout_ms = busy_timeout_ms
        self._clock = clock
        self._writer: GroupCommitter | None = None
        self._write_conn: sqlite3.Connection | None = None
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._identity: tuple[int, int] | None = None
        self._nonces = NonceFilter()
        self.node_cache = UpperNodeCache()  # stored nodes never change
        # leaves whose tiles are all stored (docs/storage.md "Tiles"): the integrated tree
        # size when opened, then after each save_tree; never ahead of the database
        self.tiled_size = 0

    # ---- lifecycle ----------------------------------------------------------------------

    @property
    def committer(self) -> GroupCommitter:
        """The writer (its `batches`/`jobs` counters show group commit at work)."""
        if self._writer is None:
            raise StorageUnavailable(f"storage: {self.path} is not open")
        return self._writer

    async def open(self) -> None:
        if self._writer is not None:
            return
        await asyncio.to_thread(self._open_sync)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def _open_sync(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._connect()
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                conn.close()
                raise StorageUnavailable(
                    f"storage: {self.path} cannot use WAL (journal_mode is {mode!r}); "
                    "put the database on a local file system"
                )
            # FULL: the WAL is fsynced at every COMMIT, so a committed write survives a crash
            # or power loss (https://sqlite.org/pragma.html#pragma_synchronous).
            conn.execute("PRAGMA synchronous = FULL")
            # The writer's page cache holds the hot ends of the event indexes (default: 2 MiB).
            conn.execute("PRAGMA cache_size = -32768")
            apply_migrations(conn)
            built = writes.backfill_tiles(conn)
            if built:
                log.info("storage: built %d tiles of the audit tree in %s", built, self.path)
            tiled_size = int(conn.execute("SELECT size FROM tree_head WHERE id = 0").fetchone()[0])
            conn.execute("PRAGMA optimize")
            nonces = NonceFilter()
            for keyid, nonce, expires_us in conn.execute(
                "SELECT keyid, nonce, expires_at FROM nonces"
            ):
                nonces.add(keyid, nonce, expires_us)
            stat = self.path.stat()
        except (sqlite3.Error, OSError) as exc:
            raise StorageUnavailable(f"storage: cannot open {self.path}: {exc}") from exc
        self._identity = (stat.st_dev, stat.st_ino)
        self._nonces = nonces
        self.tiled_size = tiled_size
        self._write_conn = conn
        self._writer = GroupCommitter(conn, max_batch=self._max_batch, name=self.path.name)
        self._writer.start()

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            await writer.stop()
        with self._readers_lock:
            readers, self._readers = self._readers, []
            self._local = threading.local()
        for conn in readers:
            conn.close()
        if self._write_conn is not None:
            self._write_conn.close()
            self._write_conn = None

    async def ping(self) -> None:
        await self._read(self._ping_sync)

    def _ping_sync(self, conn: sqlite3.Connection) -> None:
        conn.execute("SELECT size FROM tree_head WHERE id = 0").fetchone()
        try:
            stat = self.path.stat()
        except OSError as exc:
            raise StorageUnavailable(f"storage: {self.path} is gone: {exc}") from exc
        if (stat.st_dev, stat.st_ino) != self._identity:
            raise StorageUnavailable(f"storage: {self.path} was replaced by another file")
        if not os.access(self.path.parent, os.W_OK) or not os.access(self.path, os.W_OK):
            raise StorageUnavailable(f"storage: {self.path} is not writable")

    # ---- plumbing -----------------------------------------------------------------------

    def _reader_conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only = ON")
            # Pages straight from the OS cache, no read() per page: an inclusion proof in a
            # large log touches ~10 pages no page cache holds (SQLite caps this at 2 GiB).
            conn.execute(f"PRAGMA mmap_size = {_READ_MMAP}")
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def read_now(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``query`` on this thread's read connection (synchronous; not on the loop)."""
        if self._writer is None:
            raise StorageUnavailable(f"storage: {self.path} is not open")
        try:
            return query(self._reader_conn())
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"storage: read from {self.path} failed: {exc}") from exc

    async def _read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        # run_in_executor, not to_thread: a query needs no copy of the caller's context.
        return await asyncio.get_running_loop().run_in_executor(None, self.read_now, query)

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await self.committer.submit(work)

    def _now_us(self) -> int:
        return rows.to_us(self._clock(), "clock()")

    # ---- writing ------------------------------------------------------------------------

    async def commit(self, tx: Transaction) -> CommitResult:
        prepared = writes.prepare_tx(tx, self._now_us())
        if prepared.nonce is not None:  # before it can be stored (NonceFilter)
            self._nonces.add(*prepared.nonce)
        return await self._write(lambda conn: writes.apply_tx(conn, prepared))

    # ---- ingress ------------------------------------------------------------------------

    async def nonce_seen(self, keyid: str, nonce: str) -> bool:
        if self._writer is None:
            raise StorageUnavailable(f"storage: {self.path} is not open")
        if not self._nonces.may_hold(keyid, nonce):
            return False  # certainly not stored (NonceFilter): no read needed
        return await self._read(
            lambda c: (
                c.execute(
                    "SELECT 1 FROM nonces WHERE keyid = ? AND nonce = ?", (keyid, nonce)
                ).fetchone()
                is not None
            )
        )

    async def purge_nonces(self, before: dt.datetime) -> int:
        before_us = rows.to_us(before, "before")
        purged = await self._write(
            lambda c: c.execute("DELETE FROM nonces WHERE expires_at < ?", (before_us,)).rowcount
        )
        self._nonces.forget_expired(before_us)
        return purged

    async def find_message(self, sender: str, message_id: str) -> StoredMessage | None:
        return await self._read(lambda c: writes.find_message(c, sender, message_id))

    async def messages_by_id(self, message_id: str) -> list[StoredMessage]:
        def query(c: sqlite3.Connection) -> list[StoredMessage]:
            found = c.execute(
                f"SELECT {rows.MESSAGE_COLUMNS} FROM messages WHERE message_id = ?"
                " ORDER BY received_index",
                (message_id,),
            )
            return [rows.message_from_row(r) for r in found]

        return await self._read(query)

    # ---- notice identity ------------------------------------------------------------------

    async def notice_for_reference(self, system: str, reference: str) -> str | None:
        return await self._read(lambda c: _notice_for_reference(c, system, reference))

    async def references_of(self, notice_key: str) -> dict[str, str]:
        return await self._read(lambda c: _references_of(c, notice_key))

    async def recipients_of(self, notice_key: str) -> frozenset[str]:
        return await self._read(lambda c: _recipients_of(c, notice_key))

    async def ingress_facts(
        self,
        sender: str,
        message_id: str,
        system: str,
        reference: str,
        *,
        default_key: str,
        recipients: bool,
    ) -> IngressFacts:
        def query(c: sqlite3.Connection) -> IngressFacts:
            key = _notice_for_reference(c, system, reference) or default_key
            return IngressFacts(
                existing=writes.find_message(c, sender, message_id),
                notice_key=key,
                references=_references_of(c, key),
                recipients=_recipients_of(c, key) if recipients else frozenset(),
            )

        return await self._read(query)

    # ---- bodies -----------------------------------------------------------------------------

    async def get_body(self, sha256: str) -> StoredBody | None:
        def query(c: sqlite3.Connection) -> StoredBody | None:
            row = c.execute(
                "SELECT sha256, body, media_type, stored_at, erased_at FROM bodies"
                " WHERE sha256 = ?",
                (sha256.lower(),),
            ).fetchone()
            return None if row is None else rows.body_from_row(row)

        return await self._read(query)

    async def erase_bodies(self, before: dt.datetime) -> list[str]:
        before_us, now_us = rows.to_us(before, "before"), self._now_us()
        return await self._write(lambda c: writes.erase(c, before_us, now_us))

    # ---- deliveries -------------------------------------------------------------------------

    async def claim_deliveries(
        self, now: dt.datetime, limit: int, worker: str, lease: dt.timedelta
    ) -> list[Delivery]:
        if limit <= 0:
            return []
        now_us = rows.to_us(now, "now")
        until_us = now_us + lease // dt.timedelta(microseconds=1)
        return await self._write(lambda c: writes.claim(c, now_us, limit, worker, until_us))

    async def get_delivery(self, delivery_id: str) -> Delivery | None:
        def query(c: sqlite3.Connection) -> Delivery | None:
            row = c.execute(
                f"SELECT {rows.DELIVERY_COLUMNS} FROM deliveries WHERE delivery_id = ?",
                (delivery_id,),
            ).fetchone()
            return None if row is None else rows.delivery_from_row(row)

        return await self._read(query)

    async def list_deliveries(
        self, state: DeliveryState | None, limit: int, after: str | None = None
    ) -> list[Delivery]:
        clauses, params = [], []
        if state is not None:
            clauses.append("state = ?")
            params.append(DeliveryState(state).value)
        if after is not None:
            clauses.append("delivery_id > ?")
            params.append(after)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {rows.DELIVERY_COLUMNS} FROM deliveries {where} ORDER BY delivery_id LIMIT ?"
        return await self._read(
            lambda c: [rows.delivery_from_row(r) for r in c.execute(sql, (*params, limit))]
        )

    async def count_deliveries(self, state: DeliveryState) -> int:
        value = DeliveryState(state).value
        return await self._read(
            lambda c: int(
                c.execute("SELECT count(*) FROM deliveries WHERE state = ?", (value,)).fetchone()[0]
            )
        )

    async def deliveries_of_message(self, message_id: str) -> list[Delivery]:
        return await self._read(
            lambda c: [
                rows.delivery_from_row(r)
                for r in c.execute(
                    f"SELECT {rows.DELIVERY_COLUMNS} FROM deliveries WHERE message_id = ?"
                    " ORDER BY created_at, delivery_id",
                    (message_id,),
                )
            ]
        )

    async def attempts_of(self, delivery_id: str) -> list[AttemptRow]:
        return await self._read(
            lambda c: [
                rows.attempt_from_row(r)
                for r in c.execute(
                    "SELECT delivery_id, attempt, at, status_code, error, duration_ms, answer,"
                    " answer_signature FROM attempts WHERE delivery_id = ? ORDER BY attempt",
                    (delivery_id,),
                )
            ]
        )

    async def next_due(self) -> dt.datetime | None:
        # A leased delivery is due again only when its lease runs out.
        def query(c: sqlite3.Connection) -> dt.datetime | None:
            row = c.execute(
                "SELECT min(max(next_attempt_at, coalesce(lease_until, next_attempt_at)))"
                " FROM deliveries WHERE state = 'pending'"
            ).fetchone()
            return rows.opt_from_us(row[0])

        return await self._read(query)

    # ---- audit log ----------------------------------------------------------------------------

    async def event_count(self) -> int:
        return await self._read(
            lambda c: int(c.execute("SELECT coalesce(max(idx) + 1, 0) FROM events").fetchone()[0])
        )

    async def get_events(self, start: int, end: int) -> list[StoredEvent]:
        return await self._read(
            lambda c: [
                rows.event_from_row(r)
                for r in c.execute(
                    f"SELECT {rows.EVENT_COLUMNS} FROM events WHERE idx >= ? AND idx < ?"
                    " ORDER BY idx",
                    (start, end),
                )
            ]
        )

    async def leaf_rows(self, start: int, end: int) -> LeafRows:
        return await self._read(lambda c: _leaf_rows(c, start, end))

    async def node_range(self, level: int, start: int, end: int) -> list[tuple[int, bytes]]:
        def query(c: sqlite3.Connection) -> list[tuple[int, bytes]]:
            return [
                (int(i), bytes(h))
                for i, h in c.execute(
                    "SELECT idx, hash FROM nodes WHERE level = ? AND idx >= ? AND idx < ?"
                    " ORDER BY idx",
                    (level, start, end),
                )
            ]

        return await self._read(query)

    async def tile_range(self, tier: int, start: int, end: int) -> list[tuple[int, bytes]]:
        """Tiles (index, hashes) of ``tier`` with ``start`` <= index < ``end``: the tiles of
        subtree nodes (8 * (tier + 1), index) (docs/storage.md, "Tiles")."""
        low, high = writes.tile_id(tier, start), writes.tile_id(tier, end)

        def query(c: sqlite3.Connection) -> list[tuple[int, bytes]]:
            return [
                (int(i) - low + start, bytes(h))
                for i, h in c.execute(
                    "SELECT id, hashes FROM tiles WHERE id >= ? AND id < ? ORDER BY id",
                    (low, high),
                )
            ]

        return await self._read(query)

    def leaf_rows_now(self, start: int, end: int) -> LeafRows:
        """`leaf_rows` on the calling thread, blocking it. For `verify_storage` offline
        (`gateway audit verify`), which reads and checks each chunk on one thread: rows a
        reader thread made, checked on another core, cost 5-30 % more CPU
        (docs/performance.md)."""
        return self.read_now(lambda c: _leaf_rows(c, start, end))

    async def search_events(
        self,
        flt: EventFilter,
        limit: int,
        before: int | Unset | None = UNSET,
        after: int | Unset | None = UNSET,
    ) -> list[StoredEvent]:
        """See `gateway.storage.event_search` for the cursor and order rules."""
        if limit <= 0:
            return []
        sql, params = event_search_sql(flt, limit, before, after, mark="?")
        return await self._read(lambda c: [rows.event_from_row(r) for r in c.execute(sql, params)])

    async def event_counts(
        self, since: dt.datetime, until: dt.datetime, bucket: dt.timedelta, kinds: Sequence[str]
    ) -> list[EventCount]:
        start = rows.to_us(since, "since")
        width = bucket // dt.timedelta(microseconds=1)
        if width <= 0 or not kinds:
            return []
        marks = ", ".join("?" for _ in kinds)
        # INDEXED BY: the window is small next to the log, so the time index always wins.
        sql = (
            "SELECT (at - ?) / ?, kind, outcome, count(*) FROM events INDEXED BY events_at"
            f" WHERE at >= ? AND at < ? AND kind IN ({marks}) GROUP BY 1, 2, 3"
        )
        params = (start, width, start, rows.to_us(until, "until"), *kinds)
        return await self._read(
            lambda c: [
                EventCount(bucket=int(b), kind=k, outcome=o, count=int(n))
                for b, k, o, n in c.execute(sql, params)
            ]
        )

    def node_reader(self) -> SqliteNodeReader:
        return SqliteNodeReader(self)

    async def tree_size(self) -> int:
        return await self._read(
            lambda c: int(c.execute("SELECT size FROM tree_head WHERE id = 0").fetchone()[0])
        )

    async def save_tree(
        self,
        nodes: Sequence[tuple[tuple[int, int], bytes]],
        tree_size: int,
        checkpoint: StoredCheckpoint | None,
    ) -> None:
        signed_at = None if checkpoint is None else rows.to_us(checkpoint.signed_at, "signed_at")
        new_nodes = list(nodes)
        await self._write(
            lambda c: writes.save_tree(c, new_nodes, tree_size, checkpoint, signed_at)
        )
        self.tiled_size = max(self.tiled_size, tree_size)  # its tiles are committed with it

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        def query(c: sqlite3.Connection) -> StoredCheckpoint | None:
            row = c.execute(
                "SELECT tree_size, root, note, signed_at FROM checkpoints"
                " ORDER BY tree_size DESC LIMIT 1"
            ).fetchone()
            return None if row is None else rows.checkpoint_from_row(row)

        return await self._read(query)

    @contextlib.asynccontextmanager
    async def sequencer_lock(self) -> AsyncIterator[bool]:
        """Always held: one process owns a SQLite file (docs/architecture.md)."""
        yield True

    async def requests_between(self, start: int, end: int) -> dict[int, StoredRequest]:
        return await self._read(
            lambda c: {
                r[0]: rows.request_from_row(r)
                for r in c.execute(
                    f"SELECT {rows.REQUEST_COLUMNS} FROM requests"
                    " WHERE event_idx >= ? AND event_idx < ? ORDER BY event_idx",
                    (start, end),
                )
            }
        )

    async def checkpoints(self, limit: int = 100) -> list[StoredCheckpoint]:
        return await self._read(
            lambda c: [
                rows.checkpoint_from_row(r)
                for r in c.execute(
                    "SELECT tree_size, root, note, signed_at FROM checkpoints"
                    " ORDER BY tree_size DESC LIMIT ?",
                    (limit,),
                )
            ]
        )
