"""Audit events and their leaf bytes (audit.md "Events").

A leaf is the RFC 8785 (JSON Canonicalization Scheme) serialisation of one event, so the
same event always hashes the same, and the event's time is inside the signed bytes::

    {"actor":{"id":"INTERPOL-GS","type":"participant"},"at":"2026-03-01T12:00:00.000000Z",
     "body_sha256":{"received":"<64 hex>"},"details":{...},"kind":"received",
     "message_id":"...","outcome":"accepted","v":1}

A leaf holds digests and metadata, never bodies (those are stored apart and can be erased).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson
import rfc8785

__all__ = [
    "ACTOR_TYPES",
    "LEAF_VERSION",
    "AuditEvent",
    "EventKind",
    "MalformedLeafError",
    "canonical_json",
    "event_from_leaf",
    "format_time",
    "leaf_bytes",
]

LEAF_VERSION = 1
ACTOR_TYPES = frozenset({"participant", "operator", "gateway"})
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_FIELDS = frozenset({"v", "kind", "at", "actor", "message_id", "outcome", "body_sha256", "details"})


class EventKind(StrEnum):
    """What happened. A signed checkpoint is deliberately NOT an event: a leaf for it would
    grow the tree it commits to, which would need another checkpoint, forever."""

    RECEIVED = "received"
    REFUSED = "refused"
    TRANSLATED = "translated"
    ROUTED = "routed"
    DELIVERY_ATTEMPTED = "delivery_attempted"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    DEAD_LETTERED = "dead_lettered"
    REDELIVERY_REQUESTED = "redelivery_requested"
    CANCELLED = "cancelled"
    PAYLOAD_VIEWED = "payload_viewed"
    PAYLOAD_ERASED = "payload_erased"
    CONFIG_LOADED = "config_loaded"
    OPERATOR_LOGIN = "operator_login"


_KINDS = frozenset(k.value for k in EventKind)


class MalformedLeafError(ValueError):
    """Leaf bytes that are not a canonical audit event."""


def format_time(at: dt.datetime) -> str:
    """RFC 3339 UTC with microseconds and "Z": 2026-03-01T12:00:00.000000Z."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One leaf of the audit log.

    actor: {"type": "participant" | "operator" | "gateway", "id": <who>}.
    body_sha256: hex SHA-256 of each body the event refers to, by role
    ({"received": ..., "sent:GCC-SA": ...}) or as a plain list.
    details: any JSON-able mapping (no floats that JSON cannot hold, no NaN).
    """

    kind: EventKind
    at: dt.datetime
    actor: Mapping[str, str]
    outcome: str
    message_id: str | None = None
    body_sha256: Mapping[str, str] | Sequence[str] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.kind, EventKind):
            raise ValueError(f"audit event: kind {self.kind!r} is not an EventKind")
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError(f"audit event: at {self.at.isoformat()} has no time zone, need UTC")
        object.__setattr__(self, "at", self.at.astimezone(dt.UTC))
        if set(self.actor) != {"type", "id"}:
            raise ValueError(
                f"audit event: actor has keys {sorted(self.actor)}, expected ['id', 'type']"
            )
        if self.actor["type"] not in ACTOR_TYPES:
            raise ValueError(
                f"audit event: actor type {self.actor['type']!r}, expected one of "
                f"{sorted(ACTOR_TYPES)}"
            )
        if not isinstance(self.actor["id"], str) or not self.actor["id"]:
            raise ValueError("audit event: actor id must be a non-empty string")
        if not self.outcome:
            raise ValueError("audit event: outcome is empty")
        if self.message_id is not None and not self.message_id:
            raise ValueError("audit event: message_id is empty (use None for no message)")
        digests = (
            self.body_sha256.items()
            if isinstance(self.body_sha256, Mapping)
            else enumerate(self.body_sha256)
        )
        for role, digest in digests:
            if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
                raise ValueError(
                    f"audit event: body_sha256[{role!r}] is {digest!r}, expected 64 "
                    "lower-case hex digits"
                )

    def to_json(self) -> dict[str, Any]:
        """The leaf's JSON object (before canonicalisation)."""
        bodies: dict[str, str] | list[str] = (
            dict(self.body_sha256)
            if isinstance(self.body_sha256, Mapping)
            else list(self.body_sha256)
        )
        return {
            "v": LEAF_VERSION,
            "kind": self.kind.value,
            "at": format_time(self.at),
            "actor": {"type": self.actor["type"], "id": self.actor["id"]},
            "message_id": self.message_id,
            "outcome": self.outcome,
            "body_sha256": bodies,
            "details": dict(self.details),
        }


# I-JSON's exact integers (RFC 7493 §2.2); RFC 8785 writes them as plain digits.
_SAFE_INT = 2**53 - 1


def _plain(value: object) -> bool:
    """True when orjson's output with sorted keys IS the RFC 8785 form of ``value``:
    strings, booleans, null, integers within ±(2^53-1), floats with a fraction between
    1e-4 and 1e15 in magnitude (both write the shortest round-trip digits in plain decimal
    there; outside it, or for 1.0 and -0.0, orjson's form differs), arrays, and objects
    whose keys are ASCII (for other keys orjson's UTF-8 order and RFC 8785's UTF-16 order
    may differ). Both escape exactly '"', '\\' and U+0000-U+001F, the same way, and write
    every other character as itself (tests/unit/test_canonical_json.py compares them on
    generated values). Other floats, enums and anything else go through `rfc8785`."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -_SAFE_INT <= value <= _SAFE_INT  # type: ignore[operator]
    if isinstance(value, float) and kind is float:
        # e.g. a delivery's duration_ms; NaN and infinities fail the range test.
        return 1e-4 <= abs(value) < 1e15 and not value.is_integer()
    if kind is dict:
        return all(
            type(k) is str and k.isascii() and _plain(v)
            for k, v in value.items()  # type: ignore[attr-defined]
        )
    if kind is list or kind is tuple:
        return all(_plain(v) for v in value)  # type: ignore[attr-defined]
    return False


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) bytes of ``value``. The pure-Python `rfc8785` package cost ~100 µs
    an event, four events a message (docs/performance.md); orjson writes the same bytes
    for the values `_plain` admits, ~20x faster."""
    if _plain(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass  # e.g. a lone surrogate: let rfc8785 say what is wrong
    return rfc8785.dumps(value)


def leaf_bytes(event: AuditEvent) -> bytes:
    """RFC 8785 canonical JSON of the event: the bytes hashed into the tree."""
    try:
        return canonical_json(event.to_json())
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise ValueError(f"audit event: details are not canonical JSON: {exc}") from exc


def _require(obj: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = obj.get(name)
    if not isinstance(value, kind):
        raise MalformedLeafError(f"audit leaf: {name} is {value!r}, expected {kind}")
    return value


def event_from_leaf(leaf: bytes) -> AuditEvent:
    """Decode leaf bytes; they must be exactly the canonical form of the event they hold."""
    try:
        obj = json.loads(leaf.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedLeafError(f"audit leaf: not UTF-8 JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise MalformedLeafError(f"audit leaf: a JSON {type(obj).__name__}, expected an object")
    if set(obj) != _FIELDS:
        raise MalformedLeafError(f"audit leaf: fields {sorted(obj)}, expected {sorted(_FIELDS)}")
    if obj["v"] != LEAF_VERSION:
        raise MalformedLeafError(f"audit leaf: version {obj['v']!r}, expected {LEAF_VERSION}")
    at_text = _require(obj, "at", str)
    if not _TIME.fullmatch(at_text):
        raise MalformedLeafError(f"audit leaf: at {at_text!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    kind_text = _require(obj, "kind", str)
    if kind_text not in _KINDS:
        raise MalformedLeafError(f"audit leaf: kind {kind_text!r} is not a known event kind")
    kind = EventKind(kind_text)
    try:
        event = AuditEvent(
            kind=kind,
            at=dt.datetime.strptime(at_text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC),
            actor=_require(obj, "actor", dict),
            message_id=_require(obj, "message_id", (str, type(None))),
            outcome=_require(obj, "outcome", str),
            body_sha256=_require(obj, "body_sha256", (dict, list)),
            details=_require(obj, "details", dict),
        )
    except ValueError as exc:
        if isinstance(exc, MalformedLeafError):
            raise
        raise MalformedLeafError(f"audit leaf: {exc}") from exc
    if leaf_bytes(event) != leaf:
        raise MalformedLeafError(
            "audit leaf: bytes are not the RFC 8785 form of the event they hold"
        )
    return event
