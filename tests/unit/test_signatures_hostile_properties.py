"""verify_request on hostile envelopes: whatever the Signature, Signature-Input and
Content-Digest fields hold, the answer is a typed refusal (a GatewayError: 400 or 401) or,
only for an untouched envelope, success; never another exception."""

from __future__ import annotations

import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import crypto
from gateway.errors import GatewayError
from gateway.keys import KeyID, KeyRecord
from gateway.signatures import sign_request, verify_request
from tests.harness import pem_private, raw_public

KEY = Ed25519PrivateKey.generate()
SIGNING_KEY = crypto.load_private_key(pem_private(KEY))
RECORD = KeyRecord(KeyID("ipsg-2026"), "ipsg", raw_public(KEY))
BODY = b'{"message_id": "x"}'
AUTHORITY = "gw.test"
SF_NOISE = st.text(st.sampled_from(list('sig1=();:,"\\ ?*-.0129/+AZ@a-zé')), max_size=60)


def signed_headers(created: int) -> dict[str, str]:
    headers = {"content-type": "application/vnd.interpol.notice+json"}
    headers.update(
        sign_request(
            "POST",
            AUTHORITY,
            "/v1/messages",
            headers,
            BODY,
            key=SIGNING_KEY,
            keyid="ipsg-2026",
            created=created,
            nonce="n-1",
        )
    )
    return headers


def verify(headers: dict[str, str], now: int) -> str:
    try:
        verify_request(
            method="POST",
            authority=AUTHORITY,
            path="/v1/messages",
            headers=headers,
            body=BODY,
            expected_authority=AUTHORITY,
            now=now,
            window_seconds=300,
            resolve_key=lambda k: RECORD if k == "ipsg-2026" else None,
        )
    except GatewayError as exc:
        assert exc.status in (400, 401), exc
        return exc.slug
    return "ok"


@settings(max_examples=300, deadline=None)
@given(
    field=st.sampled_from(["signature", "signature-input", "content-digest"]),
    value=st.one_of(SF_NOISE, st.text(max_size=60)),
)
def test_any_field_value_is_a_typed_refusal(field: str, value: str) -> None:
    now = int(time.time())
    headers = signed_headers(now)
    original = headers[field]
    headers[field] = value
    outcome = verify(headers, now)
    assert outcome != "ok" or value == original


@settings(max_examples=200, deadline=None)
@given(created=st.integers(min_value=-(2**70), max_value=2**70))
def test_any_created_value_is_checked_against_the_window(created: int) -> None:
    now = 1_800_000_000
    headers = signed_headers(now)
    headers["signature-input"] = headers["signature-input"].replace(
        f"created={now}", f"created={created}"
    )
    outcome = verify(headers, now)
    # The signature covers its own parameters: any change fails, inside the window or not.
    assert outcome != "ok" or created == now


@settings(max_examples=100, deadline=None)
@given(offset=st.integers(min_value=-(10**6), max_value=10**6))
def test_freshness_window_is_plus_or_minus_300_seconds(offset: int) -> None:
    now = 1_800_000_000
    outcome = verify(signed_headers(now + offset), now)
    assert (outcome == "ok") == (abs(offset) <= 300), outcome
