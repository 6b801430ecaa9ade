"""The SQLite backend's writes: each runs on the writer thread inside its job's savepoint.

`prepare_tx` runs first, on the caller's side: it checks the transaction and turns it into
SQL parameters, so the single writer thread (the bottleneck) only executes statements.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.storage import sqlite_rows as rows
from gateway.storage.base import (
    CommitResult,
    Delivery,
    DeliveryState,
    DuplicateMessage,
    NonceReplayed,
    StorageError,
    StoredCheckpoint,
    StoredMessage,
    Transaction,
)

__all__ = [
    "TILE_HASHES",
    "TILE_LEVELS",
    "TILE_TIERS",
    "PreparedTx",
    "apply_tx",
    "backfill_tiles",
    "claim",
    "erase",
    "find_message",
    "prepare_tx",
    "save_tiles",
    "save_tree",
    "tile_holding",
    "tile_id",
    "tile_offset",
]

Params = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class PreparedTx:
    """A Transaction as SQL parameters (see the module docstring)."""

    events: list[Params]
    bodies: list[Params]
    nonce: Params | None
    message: Params | None
    message_key: tuple[str, str] | None
    received_event_pos: int | None
    references: list[Params]
    deliveries: list[Params]
    updates: list[Params]
    attempts: list[Params]
    request: Params | None = None  # event_idx (position 0) is filled in by the writer
    request_event_pos: int | None = None


def prepare_tx(tx: Transaction, now_us: int) -> PreparedTx:
    events = [
        (e.leaf, e.kind, rows.to_us(e.at, "event.at"), e.message_id, e.participant, e.outcome)
        for e in tx.events
    ]
    bodies = []
    for b in tx.bodies:
        digest = hashlib.sha256(b.body).hexdigest()
        if digest != b.sha256.lower():
            raise ValueError(
                f"storage: body.sha256 is {b.sha256}, but the body's SHA-256 is {digest}"
            )
        bodies.append((digest, b.body, b.media_type, now_us))
    nonce = None
    if tx.nonce is not None:
        n = tx.nonce
        nonce = (n.keyid, n.nonce, rows.to_us(n.expires_at, "nonce.expires_at"))
    message = key = pos = None
    if tx.message is not None:
        m = tx.message
        if not 0 <= m.received_event_pos < len(tx.events):
            raise ValueError(
                f"storage: message.received_event_pos is {m.received_event_pos}; "
                f"expected 0..{len(tx.events) - 1} (the transaction has {len(tx.events)} events)"
            )
        pos, key = m.received_event_pos, (m.sender, m.message_id)
        # received_index (position 7) is filled in by the writer once indices are known.
        message = (
            m.sender,
            m.message_id,
            m.body_sha256,
            m.kind,
            m.notice_key,
            rows.to_us(m.received_at, "message.received_at"),
            m.outcome,
            None,
            m.keyid,
            m.signature,
        )
    deliveries = [
        (
            d.delivery_id,
            d.message_id,
            d.sender,
            d.recipient,
            d.notice_key,
            d.kind,
            d.body_sha256,
            d.media_type,
            d.delivered_message_id,
            DeliveryState.PENDING.value,
            rows.to_us(d.next_attempt_at, "delivery.next_attempt_at"),
            now_us,
            now_us,
            d.losses,
        )
        for d in tx.deliveries
    ]
    updates = [
        (
            DeliveryState(u.state).value,
            u.attempts,
            rows.opt_to_us(u.next_attempt_at, "update.next_attempt_at"),
            u.last_status,
            u.last_error,
            now_us,
            u.delivery_id,
        )
        for u in tx.delivery_updates
    ]
    attempts = [
        (
            a.delivery_id,
            a.attempt,
            rows.to_us(a.at, "attempt.at"),
            a.status_code,
            a.error,
            a.duration_ms,
            a.answer,
            a.answer_signature,
        )
        for a in (u.attempt for u in tx.delivery_updates)
        if a is not None
    ]
    references = [(r.system, r.reference, r.notice_key) for r in tx.references]
    request = request_pos = None
    if tx.request is not None:
        r = tx.request
        if not 0 <= r.event_pos < len(tx.events):
            raise ValueError(
                f"storage: request.event_pos is {r.event_pos}; "
                f"expected 0..{len(tx.events) - 1} (the transaction has {len(tx.events)} events)"
            )
        request_pos = r.event_pos
        request = (None, r.method, r.authority, r.path, r.headers, r.body_sha256)
    return PreparedTx(
        events,
        bodies,
        nonce,
        message,
        key,
        pos,
        references,
        deliveries,
        updates,
        attempts,
        request,
        request_pos,
    )


def apply_tx(conn: sqlite3.Connection, tx: PreparedTx) -> CommitResult:
    if tx.nonce is not None:
        try:
            conn.execute("INSERT INTO nonces (keyid, nonce, expires_at) VALUES (?, ?, ?)", tx.nonce)
        except sqlite3.IntegrityError as exc:
            raise NonceReplayed(tx.nonce[0], tx.nonce[1]) from exc
    # audit.md: indices contiguous from 0 in commit order. Read inside the savepoint, so a
    # rolled-back transaction leaves its indices to the next one.
    indices: tuple[int, ...] = ()
    if tx.events:
        first: int = conn.execute("SELECT coalesce(max(idx) + 1, 0) FROM events").fetchone()[0]
        indices = tuple(range(first, first + len(tx.events)))
        _insert_many(
            conn,
            "INSERT INTO events (idx, leaf, kind, at, message_id, participant, outcome)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(i, *e) for i, e in zip(indices, tx.events, strict=True)],
        )
    # A body stored twice is stored once; an erased body sent again is stored again.
    _insert_many(
        conn,
        "INSERT INTO bodies (sha256, body, media_type, stored_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (sha256) DO UPDATE SET body = excluded.body,"
        " stored_at = excluded.stored_at, erased_at = NULL WHERE bodies.body IS NULL",
        tx.bodies,
    )
    if tx.message is not None and tx.message_key is not None and tx.received_event_pos is not None:
        values = (*tx.message[:7], indices[tx.received_event_pos], *tx.message[8:])
        try:
            conn.execute(
                f"INSERT INTO messages ({rows.MESSAGE_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
        except sqlite3.IntegrityError as exc:
            existing = find_message(conn, *tx.message_key)
            if existing is not None:
                raise DuplicateMessage(existing) from exc
            raise StorageError(f"storage: message row refused: {exc}") from exc
    if tx.request is not None and tx.request_event_pos is not None:
        conn.execute(
            f"INSERT INTO requests ({rows.REQUEST_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (indices[tx.request_event_pos], *tx.request[1:]),
        )
    # The first mapping of an identifier wins: a notice's identity never moves.
    _insert_many(
        conn,
        "INSERT OR IGNORE INTO notice_references (system, reference, notice_key) VALUES (?, ?, ?)",
        tx.references,
    )
    _insert_many(
        conn,
        "INSERT INTO deliveries (delivery_id, message_id, sender, recipient, notice_key, kind,"
        " body_sha256, media_type, delivered_message_id, state, next_attempt_at, created_at,"
        " updated_at, losses) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        tx.deliveries,
    )
    for update in tx.updates:
        # Any update ends the worker's lease (requirement: a DeliveryUpdate clears it).
        changed = conn.execute(
            "UPDATE deliveries SET state = ?, attempts = ?, next_attempt_at = ?, last_status = ?,"
            " last_error = ?, updated_at = ?, lease_owner = NULL, lease_until = NULL"
            " WHERE delivery_id = ?",
            update,
        ).rowcount
        if changed != 1:
            raise StorageError(f"storage: delivery update for unknown delivery {update[-1]!r}")
    _insert_many(
        conn,
        "INSERT INTO attempts (delivery_id, attempt, at, status_code, error, duration_ms, answer,"
        " answer_signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        tx.attempts,
    )
    return CommitResult(event_indices=indices)


def _insert_many(conn: sqlite3.Connection, sql: str, values: Sequence[Params]) -> None:
    if values:  # the writer thread is the bottleneck: skip calls with nothing to do
        conn.executemany(sql, values)


def find_message(conn: sqlite3.Connection, sender: str, message_id: str) -> StoredMessage | None:
    row = conn.execute(
        f"SELECT {rows.MESSAGE_COLUMNS} FROM messages WHERE sender = ? AND message_id = ?",
        (sender, message_id),
    ).fetchone()
    return None if row is None else rows.message_from_row(row)


def claim(
    conn: sqlite3.Connection, now_us: int, limit: int, worker: str, until_us: int
) -> list[Delivery]:
    claimed = conn.execute(
        "UPDATE deliveries SET lease_owner = ?, lease_until = ? WHERE delivery_id IN ("
        " SELECT delivery_id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ?"
        " AND (lease_until IS NULL OR lease_until < ?)"
        " ORDER BY next_attempt_at, delivery_id LIMIT ?)"
        f" RETURNING {rows.DELIVERY_COLUMNS}",
        (worker, until_us, now_us, now_us, limit),
    ).fetchall()
    found = [rows.delivery_from_row(r) for r in claimed]
    found.sort(key=lambda d: (d.next_attempt_at, d.delivery_id))
    return found


def save_tree(
    conn: sqlite3.Connection,
    nodes: Sequence[tuple[tuple[int, int], bytes]],
    tree_size: int,
    checkpoint: StoredCheckpoint | None,
    signed_at_us: int | None,
) -> None:
    count: int = conn.execute("SELECT coalesce(max(idx) + 1, 0) FROM events").fetchone()[0]
    current: int = conn.execute("SELECT size FROM tree_head WHERE id = 0").fetchone()[0]
    if not current <= tree_size <= count:
        raise StorageError(
            f"audit: tree size {tree_size} is outside {current}..{count} "
            "(the integrated size cannot shrink nor pass the number of events)"
        )
    for (level, idx), digest in nodes:
        stored = conn.execute(
            "INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)"
            " ON CONFLICT (level, idx) DO UPDATE SET hash = hash RETURNING hash",
            (level, idx, digest),
        ).fetchone()[0]
        if bytes(stored) != digest:  # a complete subtree's hash never changes: a fork
            raise StorageError(f"audit: node ({level}, {idx}) is already stored with another hash")
    save_tiles(conn, (key for key, _ in nodes))
    conn.execute("UPDATE tree_head SET size = ? WHERE id = 0", (tree_size,))
    if checkpoint is not None:
        if checkpoint.tree_size != tree_size:
            raise StorageError(
                f"audit: checkpoint covers {checkpoint.tree_size} events, expected {tree_size}"
            )
        root = conn.execute(
            "INSERT INTO checkpoints (tree_size, root, note, signed_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (tree_size) DO UPDATE SET root = root RETURNING root",
            (tree_size, checkpoint.root_hash, checkpoint.note, signed_at_us),
        ).fetchone()[0]
        if bytes(root) != checkpoint.root_hash:
            raise StorageError(f"audit: a checkpoint of size {tree_size} has another root hash")


# ---- tiles (migration 0003, docs/storage.md "Tiles") ------------------------------------------

TILE_LEVELS = 8  # levels of nodes a tile holds
TILE_TIERS = 2  # tier t: subtrees of 2^(8(t+1)) leaves; above them the node cache serves
TILE_HASHES = 2 * (1 << TILE_LEVELS) - 2  # 256 + 128 + ... + 2
_TIER_SHIFT = 40


def tile_id(tier: int, index: int) -> int:
    """The `tiles` row of the subtree node (8 * (tier + 1), index)."""
    return tier << _TIER_SHIFT | index


def tile_holding(level: int, idx: int) -> tuple[int, int]:
    """(tier, index) of the tile that holds node (level, idx), for level < 16: the tile of
    subtree node (8 * (tier + 1), index)."""
    tier = level // TILE_LEVELS
    return tier, idx >> (TILE_LEVELS * (tier + 1) - level)


def tile_offset(level: int, idx: int) -> int:
    """Where node (level, idx) sits in its tile's hashes (byte offset), for level < 16."""
    row = level % TILE_LEVELS  # the tile's own level
    width = (1 << TILE_LEVELS) >> row  # nodes of that level in one tile
    before = 2 * (1 << TILE_LEVELS) - 2 * width  # hashes of the lower levels
    return 32 * (before + (idx & (width - 1)))


# One level's nodes in a tile as one blob, in idx order (the primary key's range scan; an
# explicit ORDER BY from SQLite 3.44), with the count to check it is whole.
_TILE_LEVEL = (
    "SELECT count(*), CAST(group_concat(hash, ''{order}) AS BLOB) FROM nodes"
    " WHERE level = ? AND idx >= ? AND idx < ?"
).format(order=" ORDER BY idx" if sqlite3.sqlite_version_info >= (3, 44) else "")


def _tile_hashes(conn: sqlite3.Connection, tier: int, index: int) -> bytes | None:
    """The tile of subtree node (8 * (tier + 1), index) from `nodes`; None when a node of
    it is missing (the subtree is not complete)."""
    parts: list[bytes] = []
    for row in range(TILE_LEVELS):
        level = tier * TILE_LEVELS + row
        width = (1 << TILE_LEVELS) >> row
        count, blob = conn.execute(
            _TILE_LEVEL, (level, index * width, (index + 1) * width)
        ).fetchone()
        if count != width or not isinstance(blob, bytes) or len(blob) != 32 * width:
            return None
        parts.append(blob)
    return b"".join(parts)


def save_tiles(conn: sqlite3.Connection, new_nodes: Iterable[tuple[int, int]]) -> int:
    """Store the tile of every subtree whose root is among ``new_nodes`` (node keys just
    written in this transaction); return how many were stored."""
    stored = 0
    for level, idx in new_nodes:
        if level % TILE_LEVELS or not 0 < level <= TILE_LEVELS * TILE_TIERS:
            continue
        tier = level // TILE_LEVELS - 1
        hashes = _tile_hashes(conn, tier, idx)
        if hashes is None:  # its root is stored, so its nodes must be: a broken tree
            raise StorageError(f"audit: the nodes below node ({level}, {idx}) are incomplete")
        conn.execute(
            "INSERT INTO tiles (id, hashes) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
            (tile_id(tier, idx), hashes),
        )
        stored += 1
    return stored


def backfill_tiles(conn: sqlite3.Connection, batch: int = 512) -> int:
    """Build the tiles a database written before migration 0003 (or by a bulk loader) lacks,
    for the tree size it has integrated, ``batch`` tiles a transaction; return how many.
    ``conn`` must be in autocommit mode and the only writer."""
    size: int = conn.execute("SELECT size FROM tree_head WHERE id = 0").fetchone()[0]
    built = 0
    for tier in range(TILE_TIERS):
        complete = size >> (TILE_LEVELS * (tier + 1))
        if not complete:
            continue
        low, high = tile_id(tier, 0), tile_id(tier, complete)
        # Tiles are written in order (with their roots, or here in ascending batches), so
        # the last one tells whether all are there: no scan of the table at every open
        # (it would fill the page cache with tile pages: +30 MiB at 10^7 entries).
        if conn.execute("SELECT 1 FROM tiles WHERE id = ?", (high - 1,)).fetchone():
            continue
        present = {
            i for (i,) in conn.execute("SELECT id FROM tiles WHERE id >= ? AND id < ?", (low, high))
        }
        missing = [i for i in range(complete) if tile_id(tier, i) not in present]
        level = TILE_LEVELS * (tier + 1)
        for start in range(0, len(missing), batch):
            conn.execute("BEGIN IMMEDIATE")
            try:
                built += save_tiles(conn, ((level, i) for i in missing[start : start + batch]))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
    return built


def erase(conn: sqlite3.Connection, before_us: int, now_us: int) -> list[str]:
    # Bodies a pending delivery still has to send are kept until it ends (docs/storage.md).
    erased = conn.execute(
        "UPDATE bodies SET body = NULL, erased_at = ? WHERE body IS NOT NULL AND stored_at < ?"
        " AND NOT EXISTS (SELECT 1 FROM deliveries d"
        " WHERE d.body_sha256 = bodies.sha256 AND d.state = 'pending') RETURNING sha256",
        (now_us, before_us),
    ).fetchall()
    return sorted(r[0] for r in erased)
