"""Properties of adapters.interpol: round trips of generated messages, and total decoding."""

from __future__ import annotations

import contextlib
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters import AdapterError
from adapters.interpol import ADAPTER
from tests.strategies_interpol import interpol_messages, wire_bytes

_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(interpol_messages())
def test_decode_encode_decode_is_stable(message: dict[str, object]) -> None:
    first = ADAPTER.decode(wire_bytes(message))
    encoded = ADAPTER.encode(first)
    assert ADAPTER.decode(encoded.body) == first
    # An INTERPOL notice re-encoded for INTERPOL loses nothing but image links (by convention).
    assert all(x.reason == "image carried as a reference only" for x in encoded.losses)
    assert ADAPTER.encode(first).body == encoded.body  # deterministic


@settings(max_examples=100, deadline=None)
@given(interpol_messages())
def test_encoded_key_order_is_the_documented_order(message: dict[str, object]) -> None:
    encoded = ADAPTER.encode(ADAPTER.decode(wire_bytes(message)))
    out = json.loads(encoded.body)
    assert list(out)[:5] == ["message_id", "message_type", "sent_at", "sender_id", "notice"]
    assert list(out["notice"])[:2] == ["notice_type", "is_diffusion"] or (
        out["message_type"] == "notice.cancel"
    )


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_adapter_errors(raw: bytes) -> None:
    with contextlib.suppress(AdapterError):  # any other exception fails the test
        ADAPTER.decode(raw)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(interpol_messages(), st.data())
def test_mutated_messages_raise_only_adapter_errors(
    message: dict[str, object], data: st.DataObject
) -> None:
    notice = message["notice"]
    assert isinstance(notice, dict)
    key = data.draw(st.sampled_from(sorted(notice)) | st.text(max_size=12))
    notice[key] = data.draw(_JSON)
    with contextlib.suppress(AdapterError):
        ADAPTER.decode(json.dumps(message, default=str).encode("utf-8"))
