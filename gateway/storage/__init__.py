"""Storage: one interface (`gateway.storage.base`), chosen by URL.

    sqlite:///relative/path.db     a file relative to the working directory
    sqlite:////absolute/path.db    an absolute path
    postgresql://user@host/db      the shared backend: several workers, one gateway

The gateway promises that a 202 is durable, so an in-memory SQLite database is refused.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from gateway.storage.base import (
    AttemptRow,
    BodyRow,
    CommitResult,
    Delivery,
    DeliveryState,
    DeliveryUpdate,
    DuplicateMessage,
    EventFilter,
    EventRow,
    IngressFacts,
    MessageRow,
    NewDelivery,
    NodeReader,
    NonceReplayed,
    NonceRow,
    ReferenceRow,
    Storage,
    StorageError,
    StorageUnavailable,
    StoredBody,
    StoredCheckpoint,
    StoredEvent,
    StoredMessage,
    Transaction,
)
from gateway.storage.postgres import PostgresStorage
from gateway.storage.sqlite import SqliteStorage

__all__ = [
    "AttemptRow",
    "BodyRow",
    "CommitResult",
    "Delivery",
    "DeliveryState",
    "DeliveryUpdate",
    "DuplicateMessage",
    "EventFilter",
    "EventRow",
    "IngressFacts",
    "MessageRow",
    "NewDelivery",
    "NodeReader",
    "NonceReplayed",
    "NonceRow",
    "PostgresStorage",
    "ReferenceRow",
    "SqliteStorage",
    "Storage",
    "StorageError",
    "StorageURLError",
    "StorageUnavailable",
    "StoredBody",
    "StoredCheckpoint",
    "StoredEvent",
    "StoredMessage",
    "Transaction",
    "open_storage",
]


class StorageURLError(StorageError):
    """The storage URL names a backend or a form this gateway cannot use."""


def open_storage(url: str) -> Storage:
    """The backend a storage URL names (not opened yet: call ``await storage.open()``)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        # sqlite:///x → path "x" (relative); sqlite:////x → path "/x" (absolute).
        if parts.netloc:
            raise StorageURLError(
                f"storage: {url!r} has a host part {parts.netloc!r}; expected "
                "sqlite:///relative/path.db or sqlite:////absolute/path.db"
            )
        path = unquote(parts.path)[1:] if parts.path.startswith("/") else ""
        if not path or path == ":memory:" or parts.query:
            raise StorageURLError(
                f"storage: {url!r} does not name a database file; an in-memory database "
                "would lose acknowledged messages, use sqlite:///path/to/gateway.db"
            )
        return SqliteStorage(path)
    if scheme in ("postgresql", "postgres"):
        # libpq reads the URL itself (host, port, dbname, user, sslmode, options=-csearch_path…).
        return PostgresStorage(url)
    raise StorageURLError(
        f"storage: unknown URL scheme {scheme!r} in {url!r}; expected sqlite:// or postgresql://"
    )
