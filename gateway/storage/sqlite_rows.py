"""How the SQLite backend stores times and turns rows back into the storage dataclasses.

Times are INTEGER microseconds since the Unix epoch, UTC: exact, compact in the
millions-of-rows indexes, and ordered the same way as the instants they stand for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from gateway.storage.base import (
    AttemptRow,
    Delivery,
    DeliveryState,
    LeafRows,
    PackedHashes,
    StoredBody,
    StoredCheckpoint,
    StoredEvent,
    StoredMessage,
    StoredRequest,
)

__all__ = [
    "DELIVERY_COLUMNS",
    "EVENT_COLUMNS",
    "LEAF_COLUMNS",
    "MESSAGE_COLUMNS",
    "REQUEST_COLUMNS",
    "attempt_from_row",
    "body_from_row",
    "checkpoint_from_row",
    "delivery_from_row",
    "event_from_row",
    "from_us",
    "leaf_rows_from",
    "message_from_row",
    "opt_from_us",
    "opt_to_us",
    "request_from_row",
    "to_us",
]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_US = dt.timedelta(microseconds=1)

Row = tuple[Any, ...]


def to_us(value: dt.datetime, name: str = "time") -> int:
    """Microseconds since the epoch of a timezone-aware datetime."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"storage: {name} must be timezone-aware UTC; got naive {value!r}")
    return (value - _EPOCH) // _ONE_US


def opt_to_us(value: dt.datetime | None, name: str = "time") -> int | None:
    return None if value is None else to_us(value, name)


def from_us(value: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=value)


def opt_from_us(value: int | None) -> dt.datetime | None:
    return None if value is None else from_us(value)


EVENT_COLUMNS = "idx, leaf, kind, at, message_id, participant, outcome"


def event_from_row(row: Row) -> StoredEvent:
    return StoredEvent(
        index=row[0],
        leaf=bytes(row[1]),
        kind=row[2],
        at=from_us(row[3]),
        message_id=row[4],
        participant=row[5],
        outcome=row[6],
    )


LEAF_COLUMNS = "idx, leaf, kind, message_id, outcome"


def leaf_rows_from(events: list[Row], nodes: list[Row] | PackedHashes) -> LeafRows:
    """`LeafRows` from (LEAF_COLUMNS) rows in idx order and the level-0 nodes of the same
    range: (idx, hash) rows, or `PackedHashes` already known to match the rows one to one."""
    if not events:
        return LeafRows([], [], [], [], [], [])
    indices, leaf, kind, message_id, outcome = zip(*events, strict=True)
    index: Sequence[int] = indices
    if indices[-1] - indices[0] == len(indices) - 1:  # unique and sorted: contiguous
        index = range(indices[0], indices[-1] + 1)
    hashes: Sequence[bytes | None]
    if isinstance(nodes, PackedHashes):
        hashes = nodes
    elif [n[0] for n in nodes] == list(index):
        hashes = [bytes(n[1]) for n in nodes]
    else:
        by_index = {n[0]: bytes(n[1]) for n in nodes}
        hashes = [by_index.get(i) for i in index]
    if set(map(type, leaf)) != {bytes}:  # a BLOB column comes back as bytes already
        leaf = tuple(x.encode() if isinstance(x, str) else bytes(x) for x in leaf)
    return LeafRows(index, leaf, kind, message_id, outcome, hashes)


MESSAGE_COLUMNS = (
    "sender, message_id, body_sha256, kind, notice_key, received_at, outcome, "
    "received_index, keyid, signature"
)


def message_from_row(row: Row) -> StoredMessage:
    return StoredMessage(
        sender=row[0],
        message_id=row[1],
        body_sha256=row[2],
        kind=row[3],
        notice_key=row[4],
        received_at=from_us(row[5]),
        outcome=bytes(row[6]),
        received_index=row[7],
        keyid=row[8],
        signature=row[9],
    )


DELIVERY_COLUMNS = (
    "delivery_id, message_id, sender, recipient, notice_key, kind, body_sha256, media_type, "
    "delivered_message_id, state, attempts, next_attempt_at, last_status, last_error, "
    "created_at, updated_at, losses"
)


def delivery_from_row(row: Row) -> Delivery:
    return Delivery(
        delivery_id=row[0],
        message_id=row[1],
        sender=row[2],
        recipient=row[3],
        notice_key=row[4],
        kind=row[5],
        body_sha256=row[6],
        media_type=row[7],
        delivered_message_id=row[8],
        state=DeliveryState(row[9]),
        attempts=row[10],
        next_attempt_at=opt_from_us(row[11]),
        last_status=row[12],
        last_error=row[13],
        created_at=from_us(row[14]),
        updated_at=from_us(row[15]),
        losses=bytes(row[16]),
    )


def attempt_from_row(row: Row) -> AttemptRow:
    return AttemptRow(
        delivery_id=row[0],
        attempt=row[1],
        at=from_us(row[2]),
        status_code=row[3],
        error=row[4],
        duration_ms=row[5],
        answer=None if row[6] is None else bytes(row[6]),
        answer_signature=row[7],
    )


def body_from_row(row: Row) -> StoredBody:
    return StoredBody(
        sha256=row[0],
        body=None if row[1] is None else bytes(row[1]),
        media_type=row[2],
        stored_at=from_us(row[3]),
        erased_at=opt_from_us(row[4]),
    )


def checkpoint_from_row(row: Row) -> StoredCheckpoint:
    return StoredCheckpoint(
        tree_size=row[0], root_hash=bytes(row[1]), note=bytes(row[2]), signed_at=from_us(row[3])
    )


REQUEST_COLUMNS = "event_idx, method, authority, path, headers, body_sha256"


def request_from_row(row: Row) -> StoredRequest:
    return StoredRequest(
        event_index=row[0],
        method=row[1],
        authority=row[2],
        path=row[3],
        headers=bytes(row[4]),
        body_sha256=row[5],
    )
