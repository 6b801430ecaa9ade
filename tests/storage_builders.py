"""Builders of storage rows shaped like the gateway's own (for every backend's tests)."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from pathlib import Path

from gateway.audit import tree
from gateway.storage import (
    BodyRow,
    EventRow,
    MessageRow,
    NewDelivery,
    NonceRow,
    ReferenceRow,
    Storage,
    Transaction,
)

__all__ = ["T0", "body_row", "build_tree_log", "grow_tree_log", "message_tx", "tree_leaf_hash"]

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


def tree_leaf_hash(i: int) -> bytes:
    """The leaf hash `grow_tree_log` gives entry i (not the hash of its leaf bytes: these
    logs test the tree's storage, not the entries)."""
    return hashlib.sha256(b"\x00leaf %d" % i).digest()


async def grow_tree_log(
    storage: Storage, store: tree.MemoryNodeStore, start: int, end: int
) -> None:
    """Events start..end-1 and their tree nodes, saved the way the Sequencer saves them
    (uneven batches, so subtrees complete inside and across them); `store` keeps the same
    nodes in memory, as the reference."""
    size = start
    rng = random.Random(start)
    while size < end:
        n = min(end - size, rng.choice((1, 7, 255, 256, 1000, 4096)))
        events = [
            EventRow(b'{"i":%d}' % i, "delivered", T0, None, None, "verified")
            for i in range(size, size + n)
        ]
        await storage.commit(Transaction(events=events))
        new = tree.append_leaves(store, size, [tree_leaf_hash(i) for i in range(size, size + n)])
        store.put_nodes(new)
        size += n
        await storage.save_tree(new, size, None)


def build_tree_log(path: Path, size: int) -> tree.MemoryNodeStore:
    """A SQLite log of `size` entries at `path` by `grow_tree_log` (synchronously, for a
    module-scoped fixture); returns the in-memory reference of its nodes."""
    import asyncio

    from gateway.storage import SqliteStorage

    store = tree.MemoryNodeStore()

    async def build() -> None:
        storage = SqliteStorage(path)
        await storage.open()
        try:
            await grow_tree_log(storage, store, 0, size)
        finally:
            await storage.close()

    asyncio.run(build())
    return store
