"""The storage interface: one protocol, two backends (SQLite embedded default, PostgreSQL).

Everything a message changes is written by ONE `commit(Transaction)`: its audit events, its
stored bodies, its nonce, its message row, its queued deliveries and its identifier
mappings — all or nothing, durable before `commit` returns (group commit batches many
concurrent transactions into one fsync). Nothing else in the gateway touches a database.

Errors (all subclasses of `StorageError`):
    StorageError
    ├── StorageUnavailable    the database cannot be reached / written now (→ 503)
    ├── NonceReplayed         (keyid, nonce) already recorded (→ 401 replay)
    └── DuplicateMessage      (sender, message_id) already recorded; carries the stored row
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, overload


class StorageError(Exception):
    pass


class StorageUnavailable(StorageError):
    pass


class NonceReplayed(StorageError):
    def __init__(self, keyid: str, nonce: str) -> None:
        self.keyid = keyid
        self.nonce = nonce
        super().__init__(f"nonce {nonce!r} of key {keyid!r} was already used")


class DuplicateMessage(StorageError):
    def __init__(self, existing: StoredMessage) -> None:
        self.existing = existing
        super().__init__(f"message {existing.message_id!r} of {existing.sender!r} already recorded")


class DeliveryState(StrEnum):
    PENDING = "pending"  # queued, waiting for its next attempt (or leased by a worker)
    DELIVERED = "delivered"
    DEAD = "dead"  # dead-lettered: shown to operators, retried only on request


# ---- rows written by a transaction -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NonceRow:
    keyid: str
    nonce: str
    expires_at: dt.datetime  # kept at least this long (freshness window)


@dataclass(frozen=True, slots=True)
class EventRow:
    leaf: bytes  # RFC 8785 canonical event bytes (gateway.audit.events.leaf_bytes)
    kind: str
    at: dt.datetime
    message_id: str | None = None
    participant: str | None = None  # sender / recipient / operator the event is about
    outcome: str = "ok"


@dataclass(frozen=True, slots=True)
class BodyRow:
    sha256: str  # hex
    body: bytes
    media_type: str


@dataclass(frozen=True, slots=True)
class MessageRow:
    sender: str
    message_id: str
    body_sha256: str
    kind: str  # publish | update | cancel
    notice_key: str  # the gateway's identity for the notice across both sides
    received_at: dt.datetime
    outcome: bytes  # JSON: the routing outcome the receipt is built from
    received_event_pos: int  # position in Transaction.events of the "received" event
    keyid: str  # the key that signed it (for the provenance block)
    signature: str  # the Signature header value as received


@dataclass(frozen=True, slots=True)
class RequestRow:
    """The inbound request of a "received" or "refused" event (docs/replay.md): kept beside
    the leaf so a capture can replay it; the leaf itself holds digests only."""

    event_pos: int  # position in Transaction.events of the event it belongs to
    method: str
    authority: str
    path: str
    headers: bytes  # JSON object of the signature-relevant header fields, as received
    body_sha256: str | None  # the body stored as a BodyRow (same or earlier transaction)


@dataclass(frozen=True, slots=True)
class NewDelivery:
    delivery_id: str
    message_id: str  # the origin message
    sender: str  # the origin sender
    recipient: str
    notice_key: str
    kind: str
    body_sha256: str  # the translated body (stored as a BodyRow in the same transaction)
    media_type: str
    delivered_message_id: str  # the stable id the recipient sees (drops duplicates by it)
    next_attempt_at: dt.datetime
    losses: bytes = b"[]"  # JSON list of {field, source_value, reason}: the loss report


@dataclass(frozen=True, slots=True)
class AttemptRow:
    delivery_id: str
    attempt: int  # 1-based
    at: dt.datetime
    status_code: int | None  # None: network error
    error: str | None
    duration_ms: float
    answer: bytes | None = None  # recipient's answer body (kept when signed / on 4xx)
    answer_signature: str | None = None  # the verified Signature header of a signed answer


@dataclass(frozen=True, slots=True)
class DeliveryUpdate:
    delivery_id: str
    state: DeliveryState
    attempts: int
    next_attempt_at: dt.datetime | None
    last_status: int | None = None
    last_error: str | None = None
    attempt: AttemptRow | None = None  # the attempt that led to this update, if any


@dataclass(frozen=True, slots=True)
class ReferenceRow:
    notice_key: str
    system: str  # "INTERPOL" | "GCCPOL" | ...
    reference: str


@dataclass(slots=True)
class Transaction:
    """Everything one step writes; `Storage.commit` applies it atomically and durably."""

    events: list[EventRow] = field(default_factory=list)
    nonce: NonceRow | None = None
    message: MessageRow | None = None
    bodies: list[BodyRow] = field(default_factory=list)
    deliveries: list[NewDelivery] = field(default_factory=list)
    delivery_updates: list[DeliveryUpdate] = field(default_factory=list)
    references: list[ReferenceRow] = field(default_factory=list)
    request: RequestRow | None = None


@dataclass(frozen=True, slots=True)
class CommitResult:
    event_indices: tuple[int, ...]  # audit log index of each of Transaction.events, in order


# ---- rows read back ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredMessage:
    sender: str
    message_id: str
    body_sha256: str
    kind: str
    notice_key: str
    received_at: dt.datetime
    outcome: bytes
    received_index: int  # audit log index of the "received" event
    keyid: str
    signature: str


@dataclass(frozen=True, slots=True)
class IngressFacts:
    """What accepting one message reads from storage, in one round trip (`Storage.ingress_facts`):
    the message already accepted under its (sender, message_id), and its notice's identity."""

    existing: StoredMessage | None
    notice_key: str  # the notice the reference maps to, else the default key given
    references: dict[str, str]  # `references_of(notice_key)`
    recipients: frozenset[str]  # `recipients_of(notice_key)` when asked for, else empty


@dataclass(frozen=True, slots=True)
class StoredRequest:
    event_index: int  # audit log index of its "received" / "refused" event
    method: str
    authority: str
    path: str
    headers: bytes
    body_sha256: str | None


@dataclass(frozen=True, slots=True)
class StoredBody:
    sha256: str
    body: bytes | None  # None once erased
    media_type: str
    stored_at: dt.datetime
    erased_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    index: int
    leaf: bytes
    kind: str
    at: dt.datetime
    message_id: str | None
    participant: str | None
    outcome: str


class PackedHashes(Sequence[bytes]):
    """32-byte hashes back to back in one bytes object (one object, not one per hash)."""

    __slots__ = ("blob",)

    def __init__(self, blob: bytes) -> None:
        if len(blob) % 32:
            raise ValueError(f"packed hashes: {len(blob)} bytes is not a multiple of 32")
        self.blob = blob

    def __len__(self) -> int:
        return len(self.blob) // 32

    @overload
    def __getitem__(self, i: int) -> bytes: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[bytes]: ...
    def __getitem__(self, i: int | slice) -> bytes | Sequence[bytes]:
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step == 1:
                return PackedHashes(self.blob[32 * start : 32 * max(start, stop)])
            return [self[k] for k in range(start, stop, step)]
        n = len(self)
        if not -n <= i < n:
            raise IndexError("packed hashes: index out of range")
        i %= n
        return self.blob[32 * i : 32 * i + 32]


@dataclass(frozen=True, slots=True)
class LeafRows:
    """Log entries [start, end) column by column, as `gateway audit verify` reads them: no
    time decoding, and beside each entry its stored leaf hash (level-0 node), None where the
    tree has none. Entries are in index order; a removed row is simply absent. ``index`` is
    a range when the entries are contiguous, ``leaf_hash`` may be `PackedHashes`."""

    index: Sequence[int]
    leaf: Sequence[bytes]
    kind: Sequence[str]
    message_id: Sequence[str | None]
    outcome: Sequence[str]
    leaf_hash: Sequence[bytes | None]


@dataclass(frozen=True, slots=True)
class Delivery:
    delivery_id: str
    message_id: str
    sender: str
    recipient: str
    notice_key: str
    kind: str
    body_sha256: str
    media_type: str
    delivered_message_id: str
    state: DeliveryState
    attempts: int
    next_attempt_at: dt.datetime | None
    last_status: int | None
    last_error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    losses: bytes = b"[]"


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    tree_size: int
    root_hash: bytes
    note: bytes  # the signed note exactly as published
    signed_at: dt.datetime


@dataclass(frozen=True, slots=True)
class EventFilter:
    message_id: str | None = None
    participant: str | None = None
    kind: str | None = None
    outcome: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class EventCount:
    """How many events of one kind and outcome fell in one time bucket (console charts)."""

    bucket: int  # 0-based bucket number from ``since``
    kind: str
    outcome: str
    count: int


class NodeReader(Protocol):
    """Synchronous read of complete-subtree hashes (gateway.audit.tree.NodeStore)."""

    def get_nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]: ...


class Storage(Protocol):
    """What the gateway needs from a database. Times are timezone-aware UTC."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None:
        """Raise StorageUnavailable unless the database answers now (for /readyz)."""
        ...

    # -- writing: one atomic, durable transaction (group-committed) ----------------------
    async def commit(self, tx: Transaction) -> CommitResult: ...

    # -- ingress ----------------------------------------------------------------------------
    async def nonce_seen(self, keyid: str, nonce: str) -> bool: ...
    async def purge_nonces(self, before: dt.datetime) -> int: ...
    async def find_message(self, sender: str, message_id: str) -> StoredMessage | None: ...
    async def messages_by_id(self, message_id: str) -> list[StoredMessage]: ...

    # -- notice identity across both sides -------------------------------------------------
    async def notice_for_reference(self, system: str, reference: str) -> str | None: ...
    async def references_of(self, notice_key: str) -> dict[str, str]: ...
    async def recipients_of(self, notice_key: str) -> frozenset[str]:
        """Every participant a delivery of this notice was ever queued for."""
        ...

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
        """`find_message(sender, message_id)`; the notice key of (system, reference), else
        ``default_key``; that key's `references_of`, and its `recipients_of` when
        ``recipients``: the reads of one accepted message, in one hand-off."""
        ...

    # -- bodies ---------------------------------------------------------------------------
    async def get_body(self, sha256: str) -> StoredBody | None: ...
    async def erase_bodies(self, before: dt.datetime) -> list[str]:
        """Erase body bytes stored before ``before``; return the digests erased."""
        ...

    # -- deliveries -------------------------------------------------------------------------
    async def claim_deliveries(
        self, now: dt.datetime, limit: int, worker: str, lease: dt.timedelta
    ) -> list[Delivery]:
        """Pending deliveries due at ``now`` and not leased by a live worker; leases them."""
        ...

    async def get_delivery(self, delivery_id: str) -> Delivery | None: ...
    async def list_deliveries(
        self, state: DeliveryState | None, limit: int, after: str | None = None
    ) -> list[Delivery]: ...
    async def count_deliveries(self, state: DeliveryState) -> int:
        """How many deliveries are in ``state`` (an index count, for the queue gauge)."""
        ...

    async def deliveries_of_message(self, message_id: str) -> list[Delivery]: ...
    async def attempts_of(self, delivery_id: str) -> list[AttemptRow]: ...
    async def next_due(self) -> dt.datetime | None:
        """When the earliest pending delivery is due (None: queue empty)."""
        ...

    # -- audit log --------------------------------------------------------------------------
    async def event_count(self) -> int: ...
    async def get_events(self, start: int, end: int) -> list[StoredEvent]: ...
    async def search_events(
        self, flt: EventFilter, limit: int, before: int | None = None, after: int | None = None
    ) -> list[StoredEvent]:
        """Newest first with ``before`` (index cursor), oldest first with ``after``."""
        ...

    async def event_counts(
        self, since: dt.datetime, until: dt.datetime, bucket: dt.timedelta, kinds: Sequence[str]
    ) -> list[EventCount]:
        """Events of ``kinds`` with ``since <= at < until``, counted per (bucket, kind,
        outcome); the cost is one range scan of the time index over the window."""
        ...

    async def leaf_rows(self, start: int, end: int) -> LeafRows:
        """Entries ``start`` <= index < ``end`` with their stored leaf hashes, read in one
        snapshot (for verifying the whole log in large batches)."""
        ...

    async def node_range(self, level: int, start: int, end: int) -> list[tuple[int, bytes]]:
        """The stored tree nodes (idx, hash) of ``level`` with ``start`` <= idx < ``end``, in
        idx order (`gateway audit verify --nodes`)."""
        ...

    def node_reader(self) -> NodeReader:
        """A synchronous reader of Merkle nodes (call from a worker thread)."""
        ...

    async def tree_size(self) -> int: ...
    async def save_tree(
        self,
        nodes: Sequence[tuple[tuple[int, int], bytes]],
        tree_size: int,
        checkpoint: StoredCheckpoint | None,
    ) -> None:
        """Write new complete nodes, the new integrated tree size, and a checkpoint, atomically."""
        ...

    async def latest_checkpoint(self) -> StoredCheckpoint | None: ...
    async def checkpoints(self, limit: int = 100) -> list[StoredCheckpoint]: ...

    # -- one sequencer at a time (docs/architecture.md, Concurrency) -----------------------
    def sequencer_lock(self) -> AbstractAsyncContextManager[bool]:
        """Hold the right to integrate and sign while the block runs; the value is False
        (at once, without waiting) when another worker holds it. One process per SQLite
        file: always True there; PostgreSQL: a session advisory lock, released by the
        holder's death."""
        ...

    # -- replay captures (docs/replay.md) ----------------------------------------------------
    async def requests_between(self, start: int, end: int) -> dict[int, StoredRequest]:
        """The inbound requests recorded beside events ``start`` <= index < ``end``."""
        ...
