"""One message's life read back for a person: its rows, bodies, deliveries, attempts and
events — and the ``payload_viewed`` event that reading personal data costs (audit.md).

Shared by ``GET /v1/messages/{id}`` (gateway.api.operators) and the console's message page
(gateway.console), so both audit a view the same way, before the data leaves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from gateway.audit.events import EventKind
from gateway.errors import NotFound
from gateway.ingress import event
from gateway.storage.base import (
    AttemptRow,
    Delivery,
    EventFilter,
    Storage,
    StoredEvent,
    StoredMessage,
    Transaction,
)

# Events read with a message: enough for any real life (publish, a few translations, a
# handful of attempts each); the audit search pages beyond it.
EVENTS_PER_MESSAGE = 500


@dataclass(frozen=True, slots=True)
class BodyView:
    role: str  # "original" or "translation:<recipient>"
    sha256: str
    media_type: str | None  # None: the digest is not stored (never kept)
    body: bytes | None  # None once erased (retention) or never kept
    erased: bool


@dataclass(frozen=True, slots=True)
class MessageLife:
    message_id: str
    messages: tuple[StoredMessage, ...]  # one per sender that used this id (normally one)
    bodies: tuple[BodyView, ...]
    deliveries: tuple[Delivery, ...]
    attempts: dict[str, list[AttemptRow]]  # by delivery id, oldest first
    events: tuple[StoredEvent, ...]  # oldest first


async def read_message_life(
    storage: Storage,
    clock: Callable[[], dt.datetime],
    message_id: str,
    *,
    viewer: str,
    endpoint: str,
) -> MessageLife:
    """Everything recorded about ``message_id``; audits the view as ``payload_viewed`` by
    operator ``viewer`` through ``endpoint``. Raises NotFound for an unknown id."""
    messages = await storage.messages_by_id(message_id)
    if not messages:
        raise NotFound("message-unknown", f"no message {message_id!r} was accepted")
    events = await storage.search_events(
        EventFilter(message_id=message_id), EVENTS_PER_MESSAGE, after=None
    )
    deliveries = await storage.deliveries_of_message(message_id)
    digests: list[tuple[str, str]] = [("original", m.body_sha256) for m in messages]
    digests += [(f"translation:{d.recipient}", d.body_sha256) for d in deliveries]
    bodies: list[BodyView] = []
    for role, digest in digests:
        stored = await storage.get_body(digest)
        bodies.append(
            BodyView(
                role=role,
                sha256=digest,
                media_type=stored.media_type if stored else None,
                body=stored.body if stored else None,
                erased=bool(stored and stored.erased_at),
            )
        )
    attempts = {d.delivery_id: await storage.attempts_of(d.delivery_id) for d in deliveries}
    # Reading personal data is itself audited (audit.md), before the data leaves.
    await storage.commit(
        Transaction(
            events=[
                event(
                    EventKind.PAYLOAD_VIEWED,
                    clock(),
                    actor_type="operator",
                    actor=viewer,
                    message_id=message_id,
                    outcome="viewed",
                    bodies=dict(digests),
                    details={"endpoint": endpoint},
                )
            ]
        )
    )
    return MessageLife(
        message_id=message_id,
        messages=tuple(messages),
        bodies=tuple(bodies),
        deliveries=tuple(deliveries),
        attempts=attempts,
        events=tuple(events),
    )
