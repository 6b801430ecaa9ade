"""Audit events: canonical leaf bytes (RFC 8785), determinism, round trip, time inside."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.audit.events import (
    AuditEvent,
    EventKind,
    MalformedLeafError,
    event_from_leaf,
    format_time,
    leaf_bytes,
)

AT = dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
DIGEST = hashlib.sha256(b"body").hexdigest()


def received(**changes: object) -> AuditEvent:
    fields: dict[str, object] = {
        "kind": EventKind.RECEIVED,
        "at": AT,
        "actor": {"type": "participant", "id": "INTERPOL-GS"},
        "message_id": "3f1c0d2e-0000-4000-8000-000000000001",
        "outcome": "accepted",
        "body_sha256": {"received": DIGEST},
        "details": {"keyid": "interpol-gs-2026", "schema": "interpol", "n": 3},
    }
    fields.update(changes)
    return AuditEvent(**fields)  # type: ignore[arg-type]


def test_leaf_is_canonical_json_with_every_field() -> None:
    leaf = leaf_bytes(received())
    assert leaf == (
        b'{"actor":{"id":"INTERPOL-GS","type":"participant"},'
        b'"at":"2026-03-01T12:00:00.123456Z",'
        b'"body_sha256":{"received":"' + DIGEST.encode() + b'"},'
        b'"details":{"keyid":"interpol-gs-2026","n":3,"schema":"interpol"},'
        b'"kind":"received","message_id":"3f1c0d2e-0000-4000-8000-000000000001",'
        b'"outcome":"accepted","v":1}'
    )


def test_same_event_same_bytes_whatever_the_key_order_or_zone() -> None:
    a = received(details={"b": [1, 2], "a": {"y": 1, "x": "é"}})
    b = received(
        details={"a": {"x": "é", "y": 1}, "b": [1, 2]},
        at=AT.astimezone(dt.timezone(dt.timedelta(hours=3))),
    )
    assert leaf_bytes(a) == leaf_bytes(b)
    assert leaf_bytes(a) == leaf_bytes(event_from_leaf(leaf_bytes(a)))


def test_time_is_inside_the_leaf() -> None:
    later = received(at=AT + dt.timedelta(microseconds=1))
    assert leaf_bytes(later) != leaf_bytes(received())
    assert json.loads(leaf_bytes(later))["at"] == "2026-03-01T12:00:00.123457Z"
    assert format_time(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) == "2026-01-01T00:00:00.000000Z"


def test_round_trip() -> None:
    for event in (
        received(),
        received(message_id=None, body_sha256=[DIGEST, DIGEST], details={}),
        AuditEvent(
            kind=EventKind.OPERATOR_LOGIN,
            at=AT,
            actor={"type": "operator", "id": "alice"},
            outcome="ok",
        ),
    ):
        back = event_from_leaf(leaf_bytes(event))
        assert back == event
        assert back.at.tzinfo is dt.UTC


def test_every_kind_has_a_stable_wire_value() -> None:
    assert [k.value for k in EventKind] == [
        "received",
        "refused",
        "translated",
        "routed",
        "delivery_attempted",
        "delivered",
        "delivery_failed",
        "dead_lettered",
        "redelivery_requested",
        "cancelled",
        "payload_viewed",
        "payload_erased",
        "config_loaded",
        "operator_login",
    ]
    assert "checkpoint_signed" not in {k.value for k in EventKind}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"at": dt.datetime(2026, 3, 1)}, "has no time zone"),
        ({"actor": {"type": "robot", "id": "x"}}, "actor type 'robot'"),
        ({"actor": {"type": "gateway"}}, "actor has keys"),
        ({"actor": {"type": "gateway", "id": ""}}, "actor id"),
        ({"outcome": ""}, "outcome is empty"),
        ({"message_id": ""}, "message_id is empty"),
        ({"body_sha256": {"received": "ABC"}}, r"body_sha256\['received'\] is 'ABC'"),
        ({"kind": "received"}, "is not an EventKind"),
    ],
)
def test_invalid_events_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        received(**changes)


def test_details_must_be_json() -> None:
    with pytest.raises(ValueError, match="not canonical JSON"):
        leaf_bytes(received(details={"x": float("nan")}))
    with pytest.raises(ValueError, match="not canonical JSON"):
        leaf_bytes(received(details={"x": object()}))


@pytest.mark.parametrize(
    ("leaf", "message"),
    [
        (b"\xff", "not UTF-8 JSON"),
        (b"[]", "a JSON list, expected an object"),
        (b'{"v":1}', "fields"),
        (leaf_bytes(received()).replace(b'"v":1', b'"v":2'), "version 2"),
        (leaf_bytes(received()).replace(b'"kind":"received"', b'"kind":"teleported"'), "kind"),
        (leaf_bytes(received()).replace(b".123456Z", b"Z"), "is not YYYY-MM-DD"),
        (leaf_bytes(received()).replace(b'{"actor"', b'{ "actor"'), "not the RFC 8785 form"),
        (leaf_bytes(received()).replace(b'"outcome":"accepted"', b'"outcome":7'), "outcome"),
    ],
)
def test_malformed_leaves(leaf: bytes, message: str) -> None:
    with pytest.raises(MalformedLeafError, match=message):
        event_from_leaf(leaf)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    details=st.dictionaries(st.text(max_size=6), json_values, max_size=4),
    micro=st.integers(0, 999_999),
    kind=st.sampled_from(list(EventKind)),
)
def test_round_trip_property(details: dict[str, object], micro: int, kind: EventKind) -> None:
    event = received(details=details, at=AT.replace(microsecond=micro), kind=kind)
    leaf = leaf_bytes(event)
    assert event_from_leaf(leaf) == event
    assert leaf_bytes(event_from_leaf(leaf)) == leaf
