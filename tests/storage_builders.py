"""Builders of storage rows shaped like the gateway's own (for every backend's tests)."""

from __future__ import annotations

import datetime as dt
import hashlib

from gateway.storage import (
    BodyRow,
    EventRow,
    MessageRow,
    NewDelivery,
    NonceRow,
    ReferenceRow,
    Transaction,
)

__all__ = ["T0", "body_row", "message_tx"]

T0 = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


def body_row(text: str, media_type: str = "application/json") -> BodyRow:
    data = text.encode()
    return BodyRow(sha256=hashlib.sha256(data).hexdigest(), body=data, media_type=media_type)


def message_tx(
    n: int,
    *,
    sender: str = "ncb-fr",
    message_id: str | None = None,
    nonce: str | None = None,
    keyid: str = "ncb-fr-2026",
    at: dt.datetime = T0,
    recipients: tuple[str, ...] = ("gcc-ae", "gcc-sa"),
    notice_key: str | None = None,
    events: int = 3,
    due: dt.datetime | None = None,
) -> Transaction:
    """A transaction shaped like an accepted message: received + routed + translated
    events, the original and one translated body per recipient, a nonce, a message row,
    deliveries and an identifier mapping. Unique per ``n`` unless told otherwise."""
    mid = message_id or f"msg-{n:05d}"
    key = notice_key or f"INTERPOL:2026/{n}"
    original = body_row(f'{{"message_id": "{mid}", "n": {n}, "sender": "{sender}"}}')
    translations = {
        r: body_row(f"<alert n='{n}' to='{r}' sender='{sender}'/>", "application/xml")
        for r in recipients
    }
    kinds = ["received", "routed", "translated", "queued", "checked", "noted"]
    rows = [
        EventRow(
            leaf=f'{{"kind":"{kinds[i % len(kinds)]}","m":"{mid}","n":{n},"i":{i}}}'.encode(),
            kind=kinds[i % len(kinds)],
            at=at,
            message_id=mid,
            participant=sender,
        )
        for i in range(events)
    ]
    return Transaction(
        events=rows,
        nonce=NonceRow(keyid=keyid, nonce=nonce or f"nonce-{n}", expires_at=at),
        message=MessageRow(
            sender=sender,
            message_id=mid,
            body_sha256=original.sha256,
            kind="publish",
            notice_key=key,
            received_at=at,
            outcome=b'{"routing":"ok"}',
            received_event_pos=0,
            keyid=keyid,
            signature=f"sig1=:{n}:",
        ),
        bodies=[original, *translations.values()],
        deliveries=[
            NewDelivery(
                delivery_id=f"{mid}:{r}",
                message_id=mid,
                sender=sender,
                recipient=r,
                notice_key=key,
                kind="publish",
                body_sha256=translations[r].sha256,
                media_type="application/xml",
                delivered_message_id=f"gw-{mid}-{r}",
                next_attempt_at=due or at,
            )
            for r in recipients
        ],
        references=[ReferenceRow(notice_key=key, system="INTERPOL", reference=f"2026/{n}")],
    )
