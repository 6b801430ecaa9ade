"""A gateway database pre-filled with the rows of N past messages, written in bulk, for
bench_memory: a worker started on it must use no more memory than on an empty one.

Each past message leaves what the real pipeline leaves (gateway/ingress.py, delivery.py):
its message row, the 8 audit events (received, 2 x translated, routed, and per recipient
delivery_attempted + delivered) with leaves of the real shape and size, 2 deliveries
(delivered) with their attempt rows and kept signed answers, a notice reference, 5 body
rows (the original, 2 translations, 2 sent) already erased by retention, the Merkle tree
nodes over all the leaves (RFC 9162, level 0 = leaf hashes) and their tiles, a signed
checkpoint every 10 000 messages and at the end, and the tree head. Nonces of past messages
have expired and been purged, as the running gateway does.

The schema is the storage layer's own (`SqliteStorage.open` applies the migrations); the
secondary indexes are dropped during the fill and created again from their own SQL, which
is several times faster than maintaining them row by row. Every identifier and digest is
unique per message, so every index is as large as the log. `gateway audit verify` accepts
the result (bench_memory checks it in quick mode).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gateway.audit.checkpoint import Checkpoint, sign_checkpoint
from gateway.audit.events import AuditEvent, EventKind, leaf_bytes
from gateway.audit.merkle import leaf_hash, node_hash
from gateway.config import GatewayConfig
from gateway.storage import open_storage
from gateway.storage import sqlite_writes as writes

__all__ = ["FillReport", "fill_log"]

CHUNK = 5_000  # messages per transaction
CHECKPOINT_EVERY = 10_000  # messages
SENDER, RECIPIENTS = "ipsg", ("gccpol-hub", "sa-psd")
# Placeholders of the real values' lengths, so a leaf keeps its real size.
_UUIDS = ("mid", "did1", "did2", "dmid1", "dmid2")
_DIGESTS = ("d0", "d1", "d2", "s1", "s2", "a1", "a2", "l1", "l2")
_TABLES = ("events", "messages", "deliveries", "notice_references", "attempts")


@dataclass(frozen=True, slots=True)
class FillReport:
    messages: int
    events: int
    nodes: int
    checkpoints: int
    seconds: float
    bytes_on_disk: int


def _placeholder(name: str, length: int) -> str:
    """A value no real one equals, in the real one's form (UUID or 64 hex digits)."""
    k = (*_UUIDS, *_DIGESTS).index(name) + 1
    return f"{k:02x}".ljust(64, "e") if length == 64 else f"feedfeed-feed-4eed-8eed-{k:012x}"


def _uuid(n: int, role: int) -> str:
    return f"{n:08x}-{role:04x}-4000-8000-{n:012x}"


def _templates(cfg: GatewayConfig) -> list[tuple[bytes, str, str, str]]:
    """(leaf template with %(name)s fields, kind, participant, outcome) of each event."""
    u = {name: _placeholder(name, 36) for name in _UUIDS}
    d = {name: _placeholder(name, 64) for name in _DIGESTS}
    gateway = {"type": "gateway", "id": cfg.settings.gateway.id}
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    events: list[tuple[AuditEvent, str]] = [
        (
            AuditEvent(
                kind=EventKind.RECEIVED,
                at=at,
                actor={"type": "participant", "id": SENDER},
                outcome="accepted",
                message_id=u["mid"],
                body_sha256={"received": d["d0"]},
                details={
                    "kind": "publish",
                    "schema": "interpol",
                    "keyid": f"{SENDER}-2026",
                    "nonce": "n" * 22,
                    "signature": "s" * 88,
                    "notice_key": "nk-" + u["mid"],
                },
            ),
            SENDER,
        )
    ]
    for n, recipient in enumerate(RECIPIENTS, 1):
        events.append(
            (
                AuditEvent(
                    kind=EventKind.TRANSLATED,
                    at=at,
                    actor=gateway,
                    outcome="translated",
                    message_id=u["mid"],
                    body_sha256={"source": d["d0"], "translation": d[f"d{n}"]},
                    details={
                        "recipient": recipient,
                        "schema": "gccpol",
                        "losses": 1,
                        "loss_report_sha256": d[f"l{n}"],
                        "delivered_message_id": u[f"dmid{n}"],
                    },
                ),
                recipient,
            )
        )
    recipients = [
        {"participant": r, "outcome": "routed", "delivery_id": u[f"did{n}"]}
        for n, r in enumerate(RECIPIENTS, 1)
    ]
    events.append(
        (
            AuditEvent(
                kind=EventKind.ROUTED,
                at=at,
                actor=gateway,
                outcome="routed",
                message_id=u["mid"],
                body_sha256={"received": d["d0"]},
                details={"rules_digest": "r" * 64, "recipients": recipients},
            ),
            SENDER,
        )
    )
    for n, recipient in enumerate(RECIPIENTS, 1):
        details = {
            "delivery_id": u[f"did{n}"],
            "recipient": recipient,
            "delivered_message_id": u[f"dmid{n}"],
            "attempt": 1,
            "status": 202,
            "duration_ms": 12.345,
        }
        bodies = {"sent": d[f"s{n}"], "answer": d[f"a{n}"]}
        signed = {"status": "verified", "keyid": f"{recipient}-2026", "signature": "x" * 96}
        for kind, outcome, extra in (
            (EventKind.DELIVERY_ATTEMPTED, "ok", {}),
            (EventKind.DELIVERED, "verified", {"answer_signature": signed}),
        ):
            events.append(
                (
                    AuditEvent(
                        kind=kind,
                        at=at,
                        actor=gateway,
                        outcome=outcome,
                        message_id=u["mid"],
                        body_sha256=bodies,
                        details={**details, **extra},
                    ),
                    recipient,
                )
            )
    out = []
    for event, participant in events:
        leaf = leaf_bytes(event).replace(b"%", b"%%")
        for name, value in (*u.items(), *d.items()):
            leaf = leaf.replace(value.encode(), f"%({name})s".encode())
        leaf = leaf.replace(b"2026-01-01T00:00:00.000000Z", b"%(at)s")
        out.append((leaf, event.kind.value, participant, event.outcome))
    return out


class _Tree:
    """RFC 9162 nodes of a log written leaf by leaf: each complete subtree's hash as soon as
    its last leaf arrives, keeping only the left siblings still waiting (O(log n))."""

    def __init__(self) -> None:
        self.size = 0
        self._left: list[bytes] = []  # perfect subtrees, largest first

    def append(self, leaf: bytes, nodes: list[tuple[int, int, bytes]]) -> None:
        index, level = self.size, 0
        digest: bytes = leaf_hash(leaf)
        nodes.append((0, index, digest))
        while index & 1:
            digest = node_hash(self._left.pop(), digest)
            level, index = level + 1, index >> 1
            nodes.append((level, index, digest))
        self._left.append(digest)
        self.size += 1

    def root(self) -> bytes:
        """MTH of the whole log: the right fold of the perfect subtrees (RFC 9162 §2.1.1)."""
        root = self._left[-1]
        for left in reversed(self._left[:-1]):
            root = node_hash(left, root)
        return root


def fill_log(
    cfg: GatewayConfig,
    messages: int,
    *,
    sign: Callable[[bytes], bytes],
    public_key: bytes,
    progress: Callable[[int], None] | None = None,
) -> FillReport:
    """Write ``messages`` past messages into the (new) database of ``cfg``."""
    started = dt.datetime.now(dt.UTC)
    storage = open_storage(cfg.storage_url)  # creates the schema, as the gateway would
    asyncio.run(storage.open())
    asyncio.run(storage.close())
    path = Path(cfg.storage_url.removeprefix("sqlite:///"))
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = OFF")  # a failed fill is thrown away whole
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -1048576")  # 1 GiB for the fill and index sorts
        conn.execute("PRAGMA temp_store = MEMORY")
        indexes = [
            (name, sql)
            for name, sql in conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                f" AND tbl_name IN ({', '.join('?' * len(_TABLES))})",
                _TABLES,
            )
        ]
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        counts = _write_rows(conn, cfg, messages, sign, public_key, started, progress)
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()
    seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return FillReport(messages, counts[0], counts[1], counts[2], seconds, size)


def _write_rows(
    conn: sqlite3.Connection,
    cfg: GatewayConfig,
    messages: int,
    sign: Callable[[bytes], bytes],
    public_key: bytes,
    now: dt.datetime,
    progress: Callable[[int], None] | None,
) -> tuple[int, int, int]:
    templates = _templates(cfg)
    origin = cfg.settings.gateway.audit_origin
    tree = _Tree()
    nodes_written = checkpoints = 0
    # Past messages, one every 10 ms, ending an hour ago.
    first_us = int(now.timestamp() * 1e6) - 3_600_000_000 - messages * 10_000
    for start in range(0, messages, CHUNK):
        rows = _Rows()
        for n in range(start, min(messages, start + CHUNK)):
            _one_message(n, first_us + n * 10_000, templates, tree, rows)
            if (n + 1) % CHECKPOINT_EVERY == 0 or n + 1 == messages:
                note = sign_checkpoint(
                    Checkpoint(origin=origin, size=tree.size, root_hash=tree.root()),
                    key_name=origin,
                    sign=sign,
                    public_key=public_key,
                )
                signed_at = first_us + n * 10_000 + 500_000
                rows.checkpoints.append((tree.size, tree.root(), note, signed_at))
        conn.execute("BEGIN")
        rows.insert(conn)
        writes.save_tiles(conn, [(level, idx) for level, idx, _ in rows.nodes])  # as save_tree
        conn.execute("UPDATE tree_head SET size = ? WHERE id = 0", (tree.size,))
        conn.execute("COMMIT")
        nodes_written += len(rows.nodes)
        checkpoints += len(rows.checkpoints)
        if progress is not None:
            progress(min(messages, start + CHUNK))
    return tree.size, nodes_written, checkpoints


@dataclass
class _Rows:
    events: list[tuple[object, ...]]
    nodes: list[tuple[int, int, bytes]]
    messages: list[tuple[object, ...]]
    bodies: list[tuple[object, ...]]
    deliveries: list[tuple[object, ...]]
    attempts: list[tuple[object, ...]]
    references: list[tuple[object, ...]]
    checkpoints: list[tuple[object, ...]]

    def __init__(self) -> None:
        self.events, self.nodes, self.messages, self.bodies = [], [], [], []
        self.deliveries, self.attempts, self.references, self.checkpoints = [], [], [], []

    def insert(self, conn: sqlite3.Connection) -> None:
        for sql, rows in (
            ("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)", self.events),
            ("INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)", sorted(self.nodes)),
            ("INSERT INTO bodies VALUES (?, NULL, ?, ?, ?)", self.bodies),
            ("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self.messages),
            (
                "INSERT INTO deliveries VALUES"
                " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                self.deliveries,
            ),
            ("INSERT INTO attempts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", self.attempts),
            ("INSERT INTO notice_references VALUES (?, ?, ?)", self.references),
            ("INSERT INTO checkpoints VALUES (?, ?, ?, ?)", self.checkpoints),
        ):
            conn.executemany(sql, rows)


def _digest(n: int, role: str) -> str:
    return hashlib.sha256(f"{n}:{role}".encode()).hexdigest()


_EPOCH = dt.datetime(1970, 1, 1)  # naive: isoformat() then has no offset to strip
_GCC = "application/vnd.gccpol.alert+xml"
_INTERPOL = "application/vnd.interpol.notice+json"
_ANSWER = b'{"participant":"%s","status":"accepted","message_id":"%s"}'


def _one_message(
    n: int, at_us: int, templates: list[tuple[bytes, str, str, str]], tree: _Tree, rows: _Rows
) -> None:
    values: dict[str, bytes] = {
        name: _uuid(n, role).encode() for role, name in enumerate(_UUIDS, 1)
    }
    values.update({name: _digest(n, name).encode() for name in _DIGESTS})
    at = _EPOCH + dt.timedelta(microseconds=at_us)
    values["at"] = at.isoformat(timespec="microseconds").encode() + b"Z"
    mid, notice_key = values["mid"].decode(), "nk-" + values["mid"].decode()
    fields = {name.encode(): value for name, value in values.items()}
    for template, kind, participant, outcome in templates:
        leaf = template % fields
        rows.events.append((tree.size, leaf, kind, at_us, mid, participant, outcome))
        tree.append(leaf, rows.nodes)
    received_index = tree.size - len(templates)
    d = {name: values[name].decode() for name in _DIGESTS}
    rows.bodies.append((d["d0"], _INTERPOL, at_us, at_us + 86_400_000_000))
    for name in ("d1", "d2", "s1", "s2"):
        rows.bodies.append((d[name], _GCC, at_us, at_us + 86_400_000_000))
    outcome_json = b'{"routing":"routed","recipients":[...]}'
    rows.messages.append(
        (SENDER, mid, d["d0"], "publish", notice_key, at_us, outcome_json, received_index,
         f"{SENDER}-2026", "sig1=:" + "s" * 88 + ":")
    )  # fmt: skip
    rows.references.append(("INTERPOL", f"2026/{n}", notice_key))
    for k, recipient in enumerate(RECIPIENTS, 1):
        delivery_id = values[f"did{k}"].decode()
        rows.deliveries.append(
            (delivery_id, mid, SENDER, recipient, notice_key, "publish", d[f"d{k}"], _GCC,
             values[f"dmid{k}"].decode(), "delivered", 1, None, 202, None, at_us,
             at_us + 20_000, b"[]")
        )  # fmt: skip
        answer = _ANSWER % (recipient.encode(), values[f"dmid{k}"])
        rows.attempts.append(
            (delivery_id, 1, at_us + 10_000, 202, None, 12.345, answer, "sig1=:" + "x" * 88 + ":")
        )
