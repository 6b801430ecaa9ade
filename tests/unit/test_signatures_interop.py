"""Cross-check with a second RFC 9421 implementation we did not write: the PyPI package
`http-message-signatures`. It signs, we verify; we sign, it verifies."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

hms = pytest.importorskip("http_message_signatures")
CaseInsensitiveDict = pytest.importorskip("http_message_signatures.structures").CaseInsensitiveDict

from gateway import crypto  # noqa: E402
from gateway.errors import Unauthorized  # noqa: E402
from gateway.keys import KeyID, KeyRecord  # noqa: E402
from gateway.signatures import (  # noqa: E402
    DEFAULT_REQUEST_COMPONENTS,
    content_digest,
    sign_request,
    sign_response,
    verify_request,
    verify_response,
)

KEY = crypto.private_key_from_seed(b"\x11" * 32)
KEYID = "ncb-fr-2026"
KEYS = {KeyID(KEYID): KeyRecord(KeyID(KEYID), "ncb-fr", KEY.public)}
AUTHORITY = "gateway.example:8443"
BODY = b'{"message_id": "m-1", "sender_id": "ncb-fr", "note": "\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a"}'


@dataclass
class Message:
    """The shape the package reads: method, url and headers (and status_code for a response)."""

    method: str
    url: str
    headers: Any = field(default_factory=dict)


@dataclass
class ResponseMessage:
    status_code: int
    headers: Any = field(default_factory=dict)
    url: str = "https://gateway.example:8443/v1/messages"


class Keys(hms.HTTPSignatureKeyResolver):  # type: ignore[misc]
    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey:
        assert key_id == KEYID
        return Ed25519PublicKey.from_public_bytes(KEY.public)

    def resolve_private_key(self, key_id: str) -> Ed25519PrivateKey:
        assert key_id == KEYID
        return Ed25519PrivateKey.from_private_bytes(KEY.seed)


def their_signer() -> object:
    return hms.HTTPMessageSigner(signature_algorithm=hms.algorithms.ED25519, key_resolver=Keys())


def their_verifier() -> object:
    return hms.HTTPMessageVerifier(signature_algorithm=hms.algorithms.ED25519, key_resolver=Keys())


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages?trace=1"])
def test_package_signed_request_verifies_with_ours(path: str) -> None:
    created = 1_763_626_500
    message = Message(
        "POST",
        f"https://{AUTHORITY}{path}",
        {"Content-Type": "application/json", "Content-Digest": content_digest(BODY)},
    )
    their_signer().sign(  # type: ignore[attr-defined]
        message,
        key_id=KEYID,
        created=dt.datetime.fromtimestamp(created, dt.UTC),
        nonce="their-nonce",
        label="theirs",
        covered_component_ids=DEFAULT_REQUEST_COMPONENTS,
    )
    headers = {name.lower(): value for name, value in message.headers.items()}
    # The package orders the parameters created, keyid, nonce, alg: not our order, which
    # proves the verifier signs the parameters as received.
    assert (
        ';created=1763626500;keyid="ncb-fr-2026";nonce="their-nonce";alg="ed25519"'
        in (headers["signature-input"])
    )
    result = verify_request(
        method="POST",
        authority=AUTHORITY,
        path=path,
        headers=headers,
        body=BODY,
        expected_authority=AUTHORITY,
        now=created + 5,
        window_seconds=300,
        resolve_key=KEYS.get,
    )
    assert (result.label, result.nonce, result.participant) == ("theirs", "their-nonce", "ncb-fr")

    headers["content-type"] = "application/xml"
    with pytest.raises(Unauthorized) as info:
        verify_request(
            method="POST",
            authority=AUTHORITY,
            path=path,
            headers=headers,
            body=BODY,
            expected_authority=AUTHORITY,
            now=created + 5,
            window_seconds=300,
            resolve_key=KEYS.get,
        )
    assert info.value.slug == "signature-invalid"


def test_our_signed_request_verifies_with_the_package() -> None:
    created = int(time.time())  # the package checks created against the real clock
    headers = {"Content-Type": "application/json"}
    headers.update(
        sign_request(
            "POST",
            AUTHORITY,
            "/v1/messages",
            headers,
            BODY,
            key=KEY,
            keyid=KEYID,
            created=created,
            expires=created + 300,
            nonce="our-nonce",
        )
    )
    # The package looks its own fields up case-sensitively; HTTP names are not.
    message = Message("POST", f"https://{AUTHORITY}/v1/messages", CaseInsensitiveDict(headers))
    (result,) = their_verifier().verify(message)  # type: ignore[attr-defined]
    assert result.label == "sig1"
    assert result.parameters["nonce"] == "our-nonce"
    assert list(result.covered_components) == [
        *(f'"{c}"' for c in DEFAULT_REQUEST_COMPONENTS),
        '"@signature-params"',
    ]

    tampered = Message("POST", f"https://{AUTHORITY}/v1/other", CaseInsensitiveDict(headers))
    with pytest.raises(hms.InvalidSignature):
        their_verifier().verify(tampered)  # type: ignore[attr-defined]


def test_our_signed_response_verifies_with_the_package_and_back() -> None:
    created = int(time.time())
    body = b'{"status": "accepted"}'
    headers = {"Content-Type": "application/json"}
    headers.update(
        sign_response(202, headers, body, key=KEY, keyid=KEYID, created=created, nonce="r")
    )
    (result,) = their_verifier().verify(ResponseMessage(202, CaseInsensitiveDict(headers)))  # type: ignore[attr-defined]
    assert result.covered_components['"@status"'] == "202"

    theirs = ResponseMessage(
        202, {"Content-Type": "application/json", "Content-Digest": content_digest(body)}
    )
    their_signer().sign(  # type: ignore[attr-defined]
        theirs,
        key_id=KEYID,
        created=dt.datetime.fromtimestamp(created, dt.UTC),
        label="rcpt",
        covered_component_ids=("@status", "content-type", "content-digest"),
    )
    verified = verify_response(
        status=202,
        headers={k.lower(): v for k, v in theirs.headers.items()},
        body=body,
        now=created,
        window_seconds=300,
        resolve_key=KEYS.get,
    )
    assert verified.label == "rcpt" and verified.nonce == ""
