"""The PostgreSQL backend's writes, each inside a transaction its caller opened.

`apply_tx` writes a `PreparedTx` (built by `sqlite_writes.prepare_tx`, which only checks the
transaction and turns it into parameters) in two steps (docs/architecture.md, Concurrency):

1. everything that may wait for another transaction's row locks — the nonce, bodies, the
   message row, identifier mappings, deliveries, delivery updates and attempts — in a fixed
   order (bodies sorted by digest), so two commits never wait for each other in a cycle;
2. the short final step under the schema's transaction-level advisory lock: read the log's
   end, insert the events at the next indices, point the message row and the request row at
   them. The lock is released by COMMIT, after the commit is durable and visible, so the
   next holder's `max(idx) + 1` always sees it: indices are contiguous, in commit order,
   across every worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from gateway.storage import sqlite_rows as rows
from gateway.storage.base import (
    CommitResult,
    Delivery,
    NonceReplayed,
    StorageError,
    StoredCheckpoint,
)
from gateway.storage.sqlite_writes import PreparedTx

__all__ = ["DuplicateKey", "apply_tx", "claim", "erase", "save_tree"]

Conn = psycopg.AsyncConnection[tuple[Any, ...]]


class DuplicateKey(Exception):
    """(sender, message_id) is already recorded; the caller reads the stored row after the
    rollback and raises `DuplicateMessage` with it."""

    def __init__(self, sender: str, message_id: str) -> None:
        self.sender = sender
        self.message_id = message_id
        super().__init__(f"message {message_id!r} of {sender!r} already recorded")


_INSERT_BODIES = (
    "INSERT INTO bodies (sha256, body, media_type, stored_at)"
    " SELECT * FROM unnest(%s::text[], %s::bytea[], %s::text[], %s::bigint[])"
    " ON CONFLICT (sha256) DO UPDATE SET body = excluded.body,"
    " stored_at = excluded.stored_at, erased_at = NULL WHERE bodies.body IS NULL"
)
_INSERT_REFERENCES = (
    "INSERT INTO notice_references (system, reference, notice_key)"
    " SELECT system, reference, notice_key FROM unnest(%s::text[], %s::text[], %s::text[])"
    " WITH ORDINALITY AS u(system, reference, notice_key, ord) ORDER BY ord"
    " ON CONFLICT (system, reference) DO NOTHING"
)
_INSERT_DELIVERY = (
    "INSERT INTO deliveries (delivery_id, message_id, sender, recipient, notice_key, kind,"
    " body_sha256, media_type, delivered_message_id, state, next_attempt_at, created_at,"
    " updated_at, losses) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_UPDATE_DELIVERY = (
    "UPDATE deliveries SET state = %s, attempts = %s, next_attempt_at = %s, last_status = %s,"
    " last_error = %s, updated_at = %s, lease_owner = NULL, lease_until = NULL"
    " WHERE delivery_id = %s"
)
_INSERT_ATTEMPT = (
    "INSERT INTO attempts (delivery_id, attempt, at, status_code, error, duration_ms, answer,"
    " answer_signature) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)
# One statement reads the log's end and appends after it (under the advisory lock).
_APPEND_EVENTS = (
    "WITH base AS (SELECT coalesce(max(idx) + 1, 0) AS first FROM events),"
    " ins AS (INSERT INTO events (idx, leaf, kind, at, message_id, participant, outcome)"
    " SELECT base.first + u.ord - 1, u.leaf, u.kind, u.at, u.message_id, u.participant,"
    " u.outcome FROM base, unnest(%s::bytea[], %s::text[], %s::bigint[], %s::text[],"
    " %s::text[], %s::text[]) WITH ORDINALITY AS u(leaf, kind, at, message_id, participant,"
    " outcome, ord))"
    " SELECT first FROM base"
)


def _columns(values: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [[v[i] for v in values] for i in range(width)]


async def apply_tx(conn: Conn, tx: PreparedTx, lock_key: int) -> CommitResult:
    """Write ``tx`` (the caller holds the transaction open and commits it)."""
    if tx.nonce is not None:
        # ON CONFLICT waits for a concurrent insert of the same nonce to commit or roll back,
        # then inserts nothing (replay) or inserts (the other one failed): no savepoint.
        cur = await conn.execute(
            "INSERT INTO nonces (keyid, nonce, expires_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (keyid, nonce) DO NOTHING RETURNING 1",
            tx.nonce,
        )
        if await cur.fetchone() is None:
            raise NonceReplayed(tx.nonce[0], tx.nonce[1])
    if tx.bodies:
        # A body stored twice is stored once; sorted, so concurrent commits lock in one order.
        unique = sorted({b[0]: b for b in tx.bodies}.values())
        await conn.execute(_INSERT_BODIES, _columns(unique, 4))
    if tx.message is not None and tx.message_key is not None:
        # received_index (position 7) is set in the locked step below.
        cur = await conn.execute(
            f"INSERT INTO messages ({rows.MESSAGE_COLUMNS})"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, -1, %s, %s)"
            " ON CONFLICT (sender, message_id) DO NOTHING RETURNING 1",
            (*tx.message[:7], *tx.message[8:]),
        )
        if await cur.fetchone() is None:
            raise DuplicateKey(*tx.message_key)
    if tx.references:
        # The first mapping of an identifier wins: a notice's identity never moves.
        await conn.execute(_INSERT_REFERENCES, _columns(tx.references, 3))
    if tx.deliveries:
        async with conn.cursor() as cur:
            await cur.executemany(_INSERT_DELIVERY, tx.deliveries)
    for update in sorted(tx.updates, key=lambda u: str(u[-1])):
        # Any update ends the worker's lease (docs/storage.md, Delivery leases).
        cur = await conn.execute(_UPDATE_DELIVERY, update)
        if cur.rowcount != 1:
            raise StorageError(f"storage: delivery update for unknown delivery {update[-1]!r}")
    if tx.attempts:
        async with conn.cursor() as cur:
            await cur.executemany(_INSERT_ATTEMPT, tx.attempts)
    if not tx.events:
        return CommitResult(event_indices=())
    # ---- the final step: one writer at a time, until COMMIT ----------------------------
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key,))
    cur = await conn.execute(_APPEND_EVENTS, _columns(tx.events, 6))
    row = await cur.fetchone()
    first = int(row[0]) if row is not None else 0
    indices = tuple(range(first, first + len(tx.events)))
    if tx.message_key is not None and tx.received_event_pos is not None:
        await conn.execute(
            "UPDATE messages SET received_index = %s WHERE sender = %s AND message_id = %s",
            (indices[tx.received_event_pos], *tx.message_key),
        )
    if tx.request is not None and tx.request_event_pos is not None:
        await conn.execute(
            f"INSERT INTO requests ({rows.REQUEST_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)",
            (indices[tx.request_event_pos], *tx.request[1:]),
        )
    return CommitResult(event_indices=indices)


async def claim(conn: Conn, now_us: int, limit: int, worker: str, until_us: int) -> list[Delivery]:
    # SKIP LOCKED: a row another worker is claiming this instant is left to it, not waited for.
    cur = await conn.execute(
        "UPDATE deliveries SET lease_owner = %s, lease_until = %s WHERE delivery_id IN ("
        " SELECT delivery_id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= %s"
        " AND (lease_until IS NULL OR lease_until < %s)"
        " ORDER BY next_attempt_at, delivery_id LIMIT %s FOR UPDATE SKIP LOCKED)"
        f" RETURNING {rows.DELIVERY_COLUMNS}",
        (worker, until_us, now_us, now_us, limit),
    )
    found = [rows.delivery_from_row(r) for r in await cur.fetchall()]
    found.sort(key=lambda d: (d.next_attempt_at, d.delivery_id))
    return found


async def save_tree(
    conn: Conn,
    nodes: Sequence[tuple[tuple[int, int], bytes]],
    tree_size: int,
    checkpoint: StoredCheckpoint | None,
    signed_at_us: int | None,
) -> None:
    # The head row is locked first: two sequencers (which the advisory lock already keeps
    # apart) could still not move the integrated size backwards.
    cur = await conn.execute("SELECT size FROM tree_head WHERE id = 0 FOR UPDATE")
    head = await cur.fetchone()
    current = int(head[0]) if head is not None else 0
    cur = await conn.execute("SELECT coalesce(max(idx) + 1, 0) FROM events")
    end = await cur.fetchone()
    count = int(end[0]) if end is not None else 0
    if not current <= tree_size <= count:
        raise StorageError(
            f"audit: tree size {tree_size} is outside {current}..{count} "
            "(the integrated size cannot shrink nor pass the number of events)"
        )
    if nodes:
        levels = [key[0] for key, _ in nodes]
        idxs = [key[1] for key, _ in nodes]
        hashes = [digest for _, digest in nodes]
        await conn.execute(
            "INSERT INTO nodes (level, idx, hash)"
            " SELECT * FROM unnest(%s::int[], %s::bigint[], %s::bytea[])"
            " ON CONFLICT (level, idx) DO NOTHING",
            (levels, idxs, hashes),
        )
        cur = await conn.execute(
            "SELECT n.level, n.idx FROM unnest(%s::int[], %s::bigint[], %s::bytea[])"
            " AS k(level, idx, hash) JOIN nodes AS n USING (level, idx)"
            " WHERE n.hash <> k.hash ORDER BY n.level, n.idx LIMIT 1",
            (levels, idxs, hashes),
        )
        fork = await cur.fetchone()
        if fork is not None:  # a complete subtree's hash never changes: a fork
            raise StorageError(
                f"audit: node ({fork[0]}, {fork[1]}) is already stored with another hash"
            )
    await conn.execute("UPDATE tree_head SET size = %s WHERE id = 0", (tree_size,))
    if checkpoint is not None:
        if checkpoint.tree_size != tree_size:
            raise StorageError(
                f"audit: checkpoint covers {checkpoint.tree_size} events, expected {tree_size}"
            )
        await conn.execute(
            "INSERT INTO checkpoints (tree_size, root, note, signed_at) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (tree_size) DO NOTHING",
            (tree_size, checkpoint.root_hash, checkpoint.note, signed_at_us),
        )
        cur = await conn.execute("SELECT root FROM checkpoints WHERE tree_size = %s", (tree_size,))
        root = await cur.fetchone()
        if root is None or bytes(root[0]) != checkpoint.root_hash:
            raise StorageError(f"audit: a checkpoint of size {tree_size} has another root hash")


async def erase(conn: Conn, before_us: int, now_us: int) -> list[str]:
    # Bodies a pending delivery still has to send are kept until it ends (docs/storage.md).
    cur = await conn.execute(
        "UPDATE bodies SET body = NULL, erased_at = %s WHERE body IS NOT NULL AND stored_at < %s"
        " AND NOT EXISTS (SELECT 1 FROM deliveries d"
        " WHERE d.body_sha256 = bodies.sha256 AND d.state = 'pending') RETURNING sha256",
        (now_us, before_us),
    )
    return sorted(str(r[0]) for r in await cur.fetchall())
