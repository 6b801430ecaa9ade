"""The shared storage backend: PostgreSQL through psycopg 3 (async) and a connection pool.

Several gateway workers (processes, machines) open the same database and behave as one
gateway (docs/architecture.md, Concurrency):

- `commit` is one PostgreSQL transaction; it returns after COMMIT, with
  `synchronous_commit = on` set on every connection, so a 202 is durable on the server.
  Audit indices are assigned in its final step under a transaction-level advisory lock
  (`postgres_writes`): contiguous, one order across every worker.
- `sequencer_lock` is a session-level advisory lock: one sequencer at a time integrates
  and signs; when its holder dies, PostgreSQL ends the session and another takes over.
- `claim_deliveries` leases rows with FOR UPDATE SKIP LOCKED; a dead worker's leases run out.
- The nonce cache and idempotency are the primary keys of `nonces` and `messages`.

Every table lives in the first schema of the connection's search_path (a URL may choose it
with ``?options=-csearch_path%3Dname``); advisory lock keys are derived from that schema's
name, so several gateways can share one database. Times are BIGINT microseconds, UTC, with
the row codec of the SQLite backend (`sqlite_rows`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from typing import Any, Final, TypeVar

import psycopg
import psycopg_pool
from psycopg import errors

from gateway.audit.tree import UpperNodeCache
from gateway.storage import postgres_writes as writes
from gateway.storage import sqlite_rows as rows
from gateway.storage.base import (
    AttemptRow,
    CommitResult,
    Delivery,
    DeliveryState,
    DuplicateMessage,
    EventCount,
    EventFilter,
    IngressFacts,
    LeafRows,
    StorageError,
    StorageUnavailable,
    StoredBody,
    StoredCheckpoint,
    StoredEvent,
    StoredMessage,
    StoredRequest,
    Transaction,
)
from gateway.storage.event_search import UNSET, Unset, event_search_sql
from gateway.storage.postgres_migrations import apply_migrations
from gateway.storage.sqlite_writes import prepare_tx

__all__ = ["PostgresNodeReader", "PostgresStorage", "lock_key"]

T = TypeVar("T")
Conn = psycopg.AsyncConnection[tuple[Any, ...]]
Pool = psycopg_pool.AsyncConnectionPool[Conn]

_RETRIES: Final = 3  # deadlock / serialisation failures are retried, then reported
_RETRYABLE = (errors.SerializationFailure, errors.DeadlockDetected)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def lock_key(purpose: str, schema: str) -> int:
    """A signed 64-bit advisory lock key for ``purpose`` in ``schema`` (stable everywhere)."""
    digest = hashlib.sha256(f"police-gateway/{purpose}/{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _redact(url: str) -> str:
    """The URL without a password, for error messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://…"
    host, port, db = info.get("host", ""), info.get("port", ""), info.get("dbname", "")
    return f"postgresql://{host}{':' + str(port) if port else ''}/{db}"


@contextlib.contextmanager
def _translated(what: str, where: str) -> Any:
    """psycopg's errors as the storage's: unreachable → StorageUnavailable (→ 503)."""
    try:
        yield
    except (psycopg_pool.PoolTimeout, psycopg_pool.PoolClosed) as exc:
        raise StorageUnavailable(f"storage: {what} on {where}: no connection ({exc})") from exc
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        raise StorageUnavailable(f"storage: {what} on {where} failed: {exc}") from exc
    except psycopg.Error as exc:
        raise StorageError(f"storage: {what} on {where} refused: {exc}") from exc


class PostgresNodeReader:
    """`NodeReader` for a worker thread: runs the query on the storage's event loop."""

    def __init__(self, storage: PostgresStorage) -> None:
        self._storage = storage

    def get_nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        # the tree's upper levels from memory (tree.UpperNodeCache), the rest in one query
        return self._storage.node_cache.read(keys, self._fetch)

    @property
    def range_memo(self) -> dict[tuple[int, int], bytes]:
        return self._storage.node_cache.ranges

    def _fetch(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        return self._storage.run_from_thread(self._storage.get_nodes(keys))


class PostgresStorage:
    """`Storage` on a PostgreSQL database shared by every gateway worker."""

    def __init__(
        self,
        url: str,
        *,
        min_connections: int = 1,
        max_connections: int = 10,
        acquire_timeout: float = 3.0,
        connect_timeout: int = 5,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self.url = url
        self._where = _redact(url)
        self._min = min_connections
        self._max = max_connections
        self._acquire_timeout = acquire_timeout
        self._connect_timeout = connect_timeout
        self._clock = clock
        self._pool: Pool | None = None
        self.node_cache = UpperNodeCache()  # stored nodes never change
        self._loop: asyncio.AbstractEventLoop | None = None
        self.schema = ""
        self._index_lock = 0
        self._sequencer_lock = 0

    # ---- lifecycle ----------------------------------------------------------------------

    async def open(self) -> None:
        if self._pool is not None:
            return
        pool: Pool = psycopg_pool.AsyncConnectionPool(
            self.url,
            min_size=self._min,
            max_size=self._max,
            open=False,
            timeout=self._acquire_timeout,
            kwargs={
                "autocommit": True,
                "connect_timeout": self._connect_timeout,
                # A silent network (no RST) must fail a query, not hang it (→ 503).
                "keepalives": 1,
                "keepalives_idle": 10,
                "keepalives_interval": 5,
                "keepalives_count": 3,
                "tcp_user_timeout": 15_000,
            },
            configure=self._configure,
            name="gateway-storage",
        )
        with _translated("open", self._where):
            try:
                await pool.open(wait=True, timeout=self._acquire_timeout + self._connect_timeout)
                async with pool.connection() as conn:
                    cur = await conn.execute("SELECT current_schema()")
                    row = await cur.fetchone()
                    if row is None or row[0] is None:
                        raise StorageUnavailable(
                            f"storage: {self._where}: the search_path names no existing schema; "
                            "create the schema first or fix options=-csearch_path"
                        )
                    self.schema = str(row[0])
                    await apply_migrations(conn, lock_key("migrations", self.schema))
            except BaseException:
                await pool.close()
                raise
        self._index_lock = lock_key("audit-index", self.schema)
        self._sequencer_lock = lock_key("sequencer", self.schema)
        self._loop = asyncio.get_running_loop()
        self._pool = pool

    @staticmethod
    async def _configure(conn: Conn) -> None:
        # Durability (docs/storage.md): COMMIT returns after the WAL is flushed, whatever
        # the server's default is.
        await conn.execute("SET synchronous_commit = on")

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def ping(self) -> None:
        await self._fetch("SELECT size FROM tree_head WHERE id = 0")

    # ---- plumbing -----------------------------------------------------------------------

    @property
    def pool(self) -> Pool:
        if self._pool is None:
            raise StorageUnavailable(f"storage: {self._where} is not open")
        return self._pool

    @contextlib.asynccontextmanager
    async def _connection(self, what: str) -> AsyncIterator[Conn]:
        with _translated(what, self._where):
            async with self.pool.connection() as conn:
                yield conn

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self._connection("read") as conn:
            cur = await conn.execute(sql, params)
            return await cur.fetchall()

    async def _write(self, what: str, work: Callable[[Conn], Awaitable[T]]) -> T:
        """Run ``work`` in one transaction (retried on deadlock / serialisation failure)."""
        for attempt in range(1, _RETRIES + 1):
            try:
                async with self._connection(what) as conn, conn.transaction():
                    return await work(conn)
            except StorageUnavailable as exc:
                cause = exc.__cause__
                if not isinstance(cause, _RETRYABLE) or attempt == _RETRIES:
                    raise
        raise AssertionError("unreachable")

    def run_from_thread(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the storage's loop and wait (from a worker thread only)."""
        if self._loop is None:
            coro.close()
            raise StorageUnavailable(f"storage: {self._where} is not open")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def _now_us(self) -> int:
        return rows.to_us(self._clock(), "clock()")

    # ---- writing ------------------------------------------------------------------------

    async def commit(self, tx: Transaction) -> CommitResult:
        prepared = prepare_tx(tx, self._now_us())
        try:
            return await self._write(
                "commit", lambda c: writes.apply_tx(c, prepared, self._index_lock)
            )
        except writes.DuplicateKey as dup:
            existing = await self.find_message(dup.sender, dup.message_id)
            if existing is None:
                raise StorageError(f"storage: message row refused: {dup}") from dup
            raise DuplicateMessage(existing) from dup

    @contextlib.asynccontextmanager
    async def sequencer_lock(self) -> AsyncIterator[bool]:
        """Hold the schema's sequencer lock while the block runs; yield False (at once) when
        another worker holds it. The lock is the session's: it ends with the connection."""
        with _translated("sequencer lock", self._where):
            conn = await self.pool.getconn()
        held = False
        try:
            with _translated("sequencer lock", self._where):
                cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (self._sequencer_lock,))
                row = await cur.fetchone()
            held = bool(row and row[0])
            yield held
        finally:
            if held:
                try:
                    await conn.execute("SELECT pg_advisory_unlock(%s)", (self._sequencer_lock,))
                except psycopg.Error:
                    await conn.close()  # the session's end releases the lock
            await self.pool.putconn(conn)

    # ---- ingress ------------------------------------------------------------------------

    async def nonce_seen(self, keyid: str, nonce: str) -> bool:
        found = await self._fetch(
            "SELECT 1 FROM nonces WHERE keyid = %s AND nonce = %s", (keyid, nonce)
        )
        return bool(found)

    async def purge_nonces(self, before: dt.datetime) -> int:
        before_us = rows.to_us(before, "before")

        async def work(c: Conn) -> int:
            cur = await c.execute("DELETE FROM nonces WHERE expires_at < %s", (before_us,))
            return cur.rowcount

        return await self._write("purge nonces", work)

    async def find_message(self, sender: str, message_id: str) -> StoredMessage | None:
        found = await self._fetch(
            f"SELECT {rows.MESSAGE_COLUMNS} FROM messages WHERE sender = %s AND message_id = %s",
            (sender, message_id),
        )
        return rows.message_from_row(found[0]) if found else None

    async def messages_by_id(self, message_id: str) -> list[StoredMessage]:
        found = await self._fetch(
            f"SELECT {rows.MESSAGE_COLUMNS} FROM messages WHERE message_id = %s"
            " ORDER BY received_index",
            (message_id,),
        )
        return [rows.message_from_row(r) for r in found]

    # ---- notice identity ------------------------------------------------------------------

    async def notice_for_reference(self, system: str, reference: str) -> str | None:
        found = await self._fetch(
            "SELECT notice_key FROM notice_references WHERE system = %s AND reference = %s",
            (system, reference),
        )
        return str(found[0][0]) if found else None

    async def references_of(self, notice_key: str) -> dict[str, str]:
        mapping: dict[str, str] = {}
        for system, reference in await self._fetch(
            "SELECT system, reference FROM notice_references WHERE notice_key = %s ORDER BY seq",
            (notice_key,),
        ):
            mapping.setdefault(system, reference)  # the first reference per system wins
        return mapping

    async def recipients_of(self, notice_key: str) -> frozenset[str]:
        found = await self._fetch(
            "SELECT DISTINCT recipient FROM deliveries WHERE notice_key = %s", (notice_key,)
        )
        return frozenset(str(r[0]) for r in found)

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
        # One pooled connection for the whole lookup (the queries stay those above).
        async with self._connection("read") as conn:

            async def fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
                return await (await conn.execute(sql, params)).fetchall()

            found = await fetch(
                f"SELECT {rows.MESSAGE_COLUMNS} FROM messages"
                " WHERE sender = %s AND message_id = %s",
                (sender, message_id),
            )
            keys = await fetch(
                "SELECT notice_key FROM notice_references WHERE system = %s AND reference = %s",
                (system, reference),
            )
            key = str(keys[0][0]) if keys else default_key
            references: dict[str, str] = {}
            for ref_system, ref in await fetch(
                "SELECT system, reference FROM notice_references WHERE notice_key = %s"
                " ORDER BY seq",
                (key,),
            ):
                references.setdefault(ref_system, ref)  # the first reference per system wins
            previous: frozenset[str] = frozenset()
            if recipients:
                previous = frozenset(
                    str(r[0])
                    for r in await fetch(
                        "SELECT DISTINCT recipient FROM deliveries WHERE notice_key = %s", (key,)
                    )
                )
        return IngressFacts(
            existing=rows.message_from_row(found[0]) if found else None,
            notice_key=key,
            references=references,
            recipients=previous,
        )

    # ---- bodies -----------------------------------------------------------------------------

    async def get_body(self, sha256: str) -> StoredBody | None:
        found = await self._fetch(
            "SELECT sha256, body, media_type, stored_at, erased_at FROM bodies WHERE sha256 = %s",
            (sha256.lower(),),
        )
        return rows.body_from_row(found[0]) if found else None

    async def erase_bodies(self, before: dt.datetime) -> list[str]:
        before_us, now_us = rows.to_us(before, "before"), self._now_us()
        return await self._write("erase bodies", lambda c: writes.erase(c, before_us, now_us))

    # ---- deliveries -------------------------------------------------------------------------

    async def claim_deliveries(
        self, now: dt.datetime, limit: int, worker: str, lease: dt.timedelta
    ) -> list[Delivery]:
        if limit <= 0:
            return []
        now_us = rows.to_us(now, "now")
        until_us = now_us + lease // dt.timedelta(microseconds=1)
        return await self._write(
            "claim deliveries", lambda c: writes.claim(c, now_us, limit, worker, until_us)
        )

    async def get_delivery(self, delivery_id: str) -> Delivery | None:
        found = await self._fetch(
            f"SELECT {rows.DELIVERY_COLUMNS} FROM deliveries WHERE delivery_id = %s",
            (delivery_id,),
        )
        return rows.delivery_from_row(found[0]) if found else None

    async def list_deliveries(
        self, state: DeliveryState | None, limit: int, after: str | None = None
    ) -> list[Delivery]:
        clauses: list[str] = []
        params: list[Any] = []
        if state is not None:
            clauses.append("state = %s")
            params.append(DeliveryState(state).value)
        if after is not None:
            clauses.append("delivery_id > %s")
            params.append(after)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        found = await self._fetch(
            f"SELECT {rows.DELIVERY_COLUMNS} FROM deliveries {where} ORDER BY delivery_id LIMIT %s",
            (*params, limit),
        )
        return [rows.delivery_from_row(r) for r in found]

    async def count_deliveries(self, state: DeliveryState) -> int:
        found = await self._fetch(
            "SELECT count(*) FROM deliveries WHERE state = %s", (DeliveryState(state).value,)
        )
        return int(found[0][0])

    async def deliveries_of_message(self, message_id: str) -> list[Delivery]:
        found = await self._fetch(
            f"SELECT {rows.DELIVERY_COLUMNS} FROM deliveries WHERE message_id = %s"
            " ORDER BY created_at, delivery_id",
            (message_id,),
        )
        return [rows.delivery_from_row(r) for r in found]

    async def attempts_of(self, delivery_id: str) -> list[AttemptRow]:
        found = await self._fetch(
            "SELECT delivery_id, attempt, at, status_code, error, duration_ms, answer,"
            " answer_signature FROM attempts WHERE delivery_id = %s ORDER BY attempt",
            (delivery_id,),
        )
        return [rows.attempt_from_row(r) for r in found]

    async def next_due(self) -> dt.datetime | None:
        # A leased delivery is due again only when its lease runs out.
        found = await self._fetch(
            "SELECT min(greatest(next_attempt_at, coalesce(lease_until, next_attempt_at)))"
            " FROM deliveries WHERE state = 'pending'"
        )
        return rows.opt_from_us(found[0][0])

    # ---- audit log ----------------------------------------------------------------------------

    async def event_count(self) -> int:
        found = await self._fetch("SELECT coalesce(max(idx) + 1, 0) FROM events")
        return int(found[0][0])

    async def get_events(self, start: int, end: int) -> list[StoredEvent]:
        found = await self._fetch(
            f"SELECT {rows.EVENT_COLUMNS} FROM events WHERE idx >= %s AND idx < %s ORDER BY idx",
            (start, end),
        )
        return [rows.event_from_row(r) for r in found]

    async def leaf_rows(self, start: int, end: int) -> LeafRows:
        async with self._connection("read") as conn, conn.transaction():
            # One snapshot for both range scans.
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            events = await (
                await conn.execute(
                    f"SELECT {rows.LEAF_COLUMNS} FROM events"
                    " WHERE idx >= %s AND idx < %s ORDER BY idx",
                    (start, end),
                )
            ).fetchall()
            nodes = await (
                await conn.execute(
                    "SELECT idx, hash FROM nodes WHERE level = 0"
                    " AND idx >= %s AND idx < %s ORDER BY idx",
                    (start, end),
                )
            ).fetchall()
        return rows.leaf_rows_from(events, nodes)

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
        sql, params = event_search_sql(flt, limit, before, after, mark="%s")
        return [rows.event_from_row(r) for r in await self._fetch(sql, params)]

    async def event_counts(
        self, since: dt.datetime, until: dt.datetime, bucket: dt.timedelta, kinds: Sequence[str]
    ) -> list[EventCount]:
        start = rows.to_us(since, "since")
        width = bucket // dt.timedelta(microseconds=1)
        if width <= 0 or not kinds:
            return []
        found = await self._fetch(
            "SELECT (at - %s) / %s, kind, outcome, count(*) FROM events"
            " WHERE at >= %s AND at < %s AND kind = ANY(%s) GROUP BY 1, 2, 3",
            (start, width, start, rows.to_us(until, "until"), list(kinds)),
        )
        return [
            EventCount(bucket=int(b), kind=str(k), outcome=str(o), count=int(n))
            for b, k, o, n in found
        ]

    async def node_range(self, level: int, start: int, end: int) -> list[tuple[int, bytes]]:
        found = await self._fetch(
            "SELECT idx, hash FROM nodes WHERE level = %s AND idx >= %s AND idx < %s ORDER BY idx",
            (level, start, end),
        )
        return [(int(i), bytes(h)) for i, h in found]

    def node_reader(self) -> PostgresNodeReader:
        return PostgresNodeReader(self)

    async def get_nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        if not keys:
            return {}
        found = await self._fetch(
            "SELECT n.level, n.idx, n.hash FROM unnest(%s::int[], %s::bigint[]) AS k(level, idx)"
            " JOIN nodes AS n USING (level, idx)",
            ([k[0] for k in keys], [k[1] for k in keys]),
        )
        return {(int(level), int(idx)): bytes(digest) for level, idx, digest in found}

    async def tree_size(self) -> int:
        found = await self._fetch("SELECT size FROM tree_head WHERE id = 0")
        return int(found[0][0])

    async def save_tree(
        self,
        nodes: Sequence[tuple[tuple[int, int], bytes]],
        tree_size: int,
        checkpoint: StoredCheckpoint | None,
    ) -> None:
        signed_at = None if checkpoint is None else rows.to_us(checkpoint.signed_at, "signed_at")
        new_nodes = list(nodes)
        await self._write(
            "save tree",
            lambda c: writes.save_tree(c, new_nodes, tree_size, checkpoint, signed_at),
        )

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        found = await self._fetch(
            "SELECT tree_size, root, note, signed_at FROM checkpoints"
            " ORDER BY tree_size DESC LIMIT 1"
        )
        return rows.checkpoint_from_row(found[0]) if found else None

    async def checkpoints(self, limit: int = 100) -> list[StoredCheckpoint]:
        found = await self._fetch(
            "SELECT tree_size, root, note, signed_at FROM checkpoints"
            " ORDER BY tree_size DESC LIMIT %s",
            (limit,),
        )
        return [rows.checkpoint_from_row(r) for r in found]

    async def requests_between(self, start: int, end: int) -> dict[int, StoredRequest]:
        found = await self._fetch(
            f"SELECT {rows.REQUEST_COLUMNS} FROM requests"
            " WHERE event_idx >= %s AND event_idx < %s ORDER BY event_idx",
            (start, end),
        )
        return {int(r[0]): rows.request_from_row(r) for r in found}
