"""gateway.signatures: RFC 9421 test vectors, RFC 9530 digests, signing and verifying."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import crypto
from gateway.errors import Unauthorized
from gateway.keys import KeyID, KeyRecord
from gateway.signatures import (
    DEFAULT_REQUEST_COMPONENTS,
    SigningError,
    VerifiedSignature,
    check_content_digest,
    content_digest,
    request_signature_base,
    response_signature_base,
    sign_request,
    sign_response,
    verify_request,
    verify_response,
)

# RFC 9421 Appendix B.1.4 (test-key-ed25519) and B.2 (test-request).
TEST_KEY_PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n"
    "-----END PRIVATE KEY-----\n"
)
TEST_PUBLIC_PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n"
    "-----END PUBLIC KEY-----\n"
)
TEST_REQUEST_HEADERS = {
    "host": "example.com",
    "date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "content-type": "application/json",
    "content-digest": (
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
    ),
    "content-length": "18",
}
TEST_REQUEST_BODY = b'{"hello": "world"}'
B26_COMPONENTS = ("date", "@method", "@path", "@authority", "content-type", "content-length")
B26_PARAMS = (
    '("date" "@method" "@path" "@authority" "content-type" "content-length")'
    ';created=1618884473;keyid="test-key-ed25519"'
)
B26_BASE = (
    '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    '"@method": POST\n'
    '"@path": /foo\n'
    '"@authority": example.com\n'
    '"content-type": application/json\n'
    '"content-length": 18\n'
    '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" '
    '"content-length");created=1618884473;keyid="test-key-ed25519"'
)
B26_SIGNATURE = (
    "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw=="
)

NOW = 1_763_626_500
AUTHORITY = "gateway.example:8443"
KEY = crypto.private_key_from_seed(bytes(range(32)))
KEYS = {
    KeyID("ncb-fr-2026"): KeyRecord(KeyID("ncb-fr-2026"), "ncb-fr", KEY.public),
    KeyID("test-key-ed25519"): KeyRecord(
        KeyID("test-key-ed25519"), "rfc", crypto.load_public_key(TEST_PUBLIC_PEM)
    ),
}
BODY = b'{"message_id": "m-1", "sender_id": "ncb-fr"}'


def signed_request(body: bytes = BODY, **overrides: object) -> dict[str, str]:
    headers = {"content-type": "application/vnd.interpol.notice+json"}
    options: dict[str, object] = {
        "key": KEY,
        "keyid": "ncb-fr-2026",
        "created": NOW,
        "nonce": "b1c2d3",
    }
    options.update(overrides)
    headers.update(sign_request("POST", AUTHORITY, "/v1/messages", headers, body, **options))  # type: ignore[arg-type]
    return headers


def verify(headers: dict[str, str], body: bytes = BODY, **overrides: object) -> VerifiedSignature:
    options: dict[str, object] = {
        "method": "POST",
        "authority": AUTHORITY,
        "path": "/v1/messages",
        "headers": headers,
        "body": body,
        "expected_authority": AUTHORITY,
        "now": NOW,
        "window_seconds": 300,
        "resolve_key": KEYS.get,
    }
    options.update(overrides)
    return verify_request(**options)  # type: ignore[arg-type]


# --- RFC 9421 Appendix B.2.6 -----------------------------------------------------------


def test_b26_signature_base_is_reproduced_exactly() -> None:
    base = request_signature_base(
        "POST",
        "example.com",
        "/foo?param=Value&Pet=dog",
        TEST_REQUEST_HEADERS,
        components=B26_COMPONENTS,
        signature_params=B26_PARAMS,
    )
    assert base == B26_BASE


@pytest.mark.parametrize("backend", sorted(crypto.BACKENDS))
def test_b26_signature_is_reproduced_exactly_and_verifies(backend: str) -> None:
    key = crypto.load_private_key(TEST_KEY_PEM, backend)
    assert base64.b64encode(key.sign(B26_BASE.encode())).decode() == B26_SIGNATURE
    public = crypto.load_public_key(TEST_PUBLIC_PEM)
    assert crypto.verify(public, base64.b64decode(B26_SIGNATURE), B26_BASE.encode(), backend)


def test_b26_message_as_received_verifies_up_to_our_profile() -> None:
    """The RFC's signed test-request passes every cryptographic check; our profile then
    refuses it for what signatures.md requires and B.2.6 lacks (a nonce)."""
    headers = dict(TEST_REQUEST_HEADERS)
    headers["signature-input"] = "sig-b26=" + B26_PARAMS
    headers["signature"] = f"sig-b26=:{B26_SIGNATURE}:"
    common = {
        "method": "POST",
        "authority": "example.com",
        "path": "/foo?param=Value&Pet=dog",
        "headers": headers,
        "body": TEST_REQUEST_BODY,
        "expected_authority": "example.com",
        "now": 1618884473,
        "window_seconds": 300,
        "resolve_key": KEYS.get,
        "required_components": ("@method", "@authority", "@path"),
    }
    with pytest.raises(Unauthorized) as info:
        verify_request(**common)  # type: ignore[arg-type]
    assert info.value.slug == "signature-params-missing"
    assert "nonce" in info.value.detail


# --- RFC 9530 --------------------------------------------------------------------------


def test_content_digest_matches_rfc9530_example() -> None:
    # RFC 9530 §2: {"hello": "world"} → sha-256=:X48E9q…:
    assert (
        content_digest(TEST_REQUEST_BODY)
        == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    )


def test_check_content_digest_accepts_both_rfc9530_algorithms() -> None:
    both = (
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, "
        + TEST_REQUEST_HEADERS["content-digest"]
    )
    check_content_digest(both, TEST_REQUEST_BODY)
    check_content_digest(
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", TEST_REQUEST_BODY
    )
    # Unknown algorithms are ignored (RFC 9530 §2), sha-256 still decides.
    check_content_digest(
        "md5=:AAAA:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", TEST_REQUEST_BODY
    )


@pytest.mark.parametrize(
    ("header", "slug", "detail"),
    [
        (None, "digest-missing", "no Content-Digest"),
        (
            TEST_REQUEST_HEADERS["content-digest"],
            "digest-missing",
            "must carry sha-256; it has sha-512",
        ),
        (
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPA=:",
            "digest-mismatch",
            "18-byte body",
        ),
        (
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-512=:AAAA:",
            "digest-mismatch",
            "sha-512",
        ),
        ("sha-256=X48E9q", "digest-malformed", "not a byte sequence"),
        ("sha-256=(", "digest-malformed", "not an RFC 8941 dictionary"),
    ],
)
def test_check_content_digest_refusals(header: str | None, slug: str, detail: str) -> None:
    with pytest.raises(Unauthorized) as info:
        check_content_digest(header, TEST_REQUEST_BODY)
    assert info.value.slug == slug
    assert detail in info.value.detail
    assert info.value.status == 401


# --- our profile: sign, then verify ----------------------------------------------------


def test_signed_request_has_the_fields_signatures_md_shows() -> None:
    headers = signed_request(expires=NOW + 300)
    assert headers["content-digest"] == content_digest(BODY)
    assert headers["signature-input"] == (
        'sig1=("@method" "@authority" "@path" "content-type" "content-digest")'
        f';created={NOW};expires={NOW + 300};nonce="b1c2d3";keyid="ncb-fr-2026";alg="ed25519"'
    )
    assert headers["signature"].startswith("sig1=:") and headers["signature"].endswith(":")


def test_sign_then_verify_returns_who_signed() -> None:
    headers = signed_request(expires=NOW + 60)
    result = verify(headers)
    assert result.keyid == "ncb-fr-2026"
    assert result.participant == "ncb-fr"
    assert result.nonce == "b1c2d3"
    assert result.created == NOW
    assert result.expires == NOW + 60
    assert result.label == "sig1"
    assert result.components == DEFAULT_REQUEST_COMPONENTS
    assert headers["signature"] == f"sig1=:{result.signature_b64}:"
    assert headers["signature-input"] == "sig1=" + result.signature_params


def test_signature_params_are_used_as_received_not_reserialised() -> None:
    """Extra whitespace inside the inner list and another parameter order are signed as
    written (RFC 9421 §2.3); the verifier must use that text, not its own serialisation."""
    params = (
        '(  "@method"  "@authority" "@path" "content-type"   "content-digest" )'
        f';keyid="ncb-fr-2026";nonce="n-1";created={NOW}'
    )
    headers = {
        "content-type": "application/json",
        "content-digest": content_digest(BODY),
        "signature-input": "lbl=" + params,
    }
    base = request_signature_base(
        "POST",
        AUTHORITY,
        "/v1/messages",
        headers,
        components=DEFAULT_REQUEST_COMPONENTS,
        signature_params=params,
    )
    headers["signature"] = "lbl=:" + base64.b64encode(KEY.sign(base.encode())).decode() + ":"
    result = verify(headers)
    assert result.label == "lbl" and result.nonce == "n-1"


def test_header_values_are_trimmed_and_the_request_target_query_is_not_in_path() -> None:
    headers = signed_request()
    headers["content-type"] = "  " + headers["content-type"] + "\t"
    verify(headers)
    verify(signed_request(), path="/v1/messages?x=1")  # @path excludes the query


def test_authority_is_case_insensitive() -> None:
    verify(signed_request(), authority=AUTHORITY.upper(), expected_authority=AUTHORITY)


def test_every_derived_request_component() -> None:
    components = (
        "@method",
        "@authority",
        "@path",
        "@query",
        "@request-target",
        "@target-uri",
        "@scheme",
        "content-type",
        "content-digest",
    )
    headers = {"content-type": "application/json"}
    target = "/v1/messages?a=1&b=%20x"
    headers.update(
        sign_request(
            "POST",
            AUTHORITY,
            target,
            headers,
            BODY,
            key=KEY,
            keyid="ncb-fr-2026",
            created=NOW,
            nonce="n",
            components=components,
            scheme="HTTPS",
        )
    )
    base = request_signature_base(
        "POST",
        AUTHORITY,
        target,
        headers,
        components=components,
        signature_params="()",
        scheme="https",
    )
    assert base.splitlines()[:7] == [
        '"@method": POST',
        f'"@authority": {AUTHORITY}',
        '"@path": /v1/messages',
        '"@query": ?a=1&b=%20x',
        '"@request-target": /v1/messages?a=1&b=%20x',
        f'"@target-uri": https://{AUTHORITY}/v1/messages?a=1&b=%20x',
        '"@scheme": https',
    ]
    verify(headers, path=target, scheme="https")


def test_query_is_a_lone_question_mark_when_absent_and_path_defaults_to_slash() -> None:
    base = request_signature_base(
        "GET", "h", "", {}, components=("@path", "@query"), signature_params="()"
    )
    assert base.splitlines()[:2] == ['"@path": /', '"@query": ?']


def test_signing_refuses_what_it_cannot_sign() -> None:
    with pytest.raises(SigningError, match="has no such field"):
        sign_request(
            "POST",
            AUTHORITY,
            "/",
            {},
            b"",
            key=KEY,
            keyid="k",
            created=NOW,
            nonce="n",
        )
    with pytest.raises(SigningError, match="repeat"):
        signed_request(components=("@method", "@method"))
    with pytest.raises(SigningError, match="needs the request's scheme"):
        signed_request(components=("@scheme",))
    with pytest.raises(SigningError, match="characters outside"):
        signed_request(nonce="é")


def test_a_cryptography_private_key_can_sign() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    foreign = Ed25519PrivateKey.from_private_bytes(KEY.seed)
    assert signed_request(key=foreign) == signed_request()


# --- responses -------------------------------------------------------------------------


def test_sign_response_then_verify_response() -> None:
    body = b'{"message_id": "m-1", "audit_index": 7}'
    headers = {"content-type": "application/json"}
    headers.update(
        sign_response(202, headers, body, key=KEY, keyid="ncb-fr-2026", created=NOW, nonce="r1")
    )
    assert headers["signature-input"].startswith('sig1=("@status" "content-type" "content-digest")')
    result = verify_response(
        status=202, headers=headers, body=body, now=NOW, window_seconds=300, resolve_key=KEYS.get
    )
    assert result.participant == "ncb-fr" and result.nonce == "r1"
    base = response_signature_base(202, headers, components=("@status",), signature_params="()")
    assert base.startswith('"@status": 202\n')
    with pytest.raises(Unauthorized) as info:
        verify_response(
            status=200,
            headers=headers,
            body=body,
            now=NOW,
            window_seconds=300,
            resolve_key=KEYS.get,
        )
    assert info.value.slug == "signature-invalid"
    with pytest.raises(Unauthorized) as info:
        verify_response(
            status=202,
            headers=headers,
            body=body + b" ",
            now=NOW,
            window_seconds=300,
            resolve_key=KEYS.get,
        )
    assert info.value.slug == "digest-mismatch"


def test_a_response_without_nonce_verifies_with_empty_nonce() -> None:
    body = b"ok"
    params = f'("@status" "content-type" "content-digest");created={NOW};keyid="ncb-fr-2026"'
    headers = {"content-type": "text/plain", "content-digest": content_digest(body)}
    base = response_signature_base(
        200,
        headers,
        components=("@status", "content-type", "content-digest"),
        signature_params=params,
    )
    headers["signature-input"] = "r=" + params
    headers["signature"] = "r=:" + base64.b64encode(KEY.sign(base.encode())).decode() + ":"
    result = verify_response(
        status=200, headers=headers, body=body, now=NOW, window_seconds=300, resolve_key=KEYS.get
    )
    assert result.nonce == ""


def test_a_response_may_not_cover_request_components() -> None:
    with pytest.raises(SigningError, match="request component"):
        sign_response(
            200, {}, b"", key=KEY, keyid="k", created=NOW, nonce="n", components=("@method",)
        )


# --- properties ------------------------------------------------------------------------

field_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).map(
    str.strip
)
paths = st.from_regex(
    r"/[A-Za-z0-9._~%!$&'()*+,;=:@/-]{0,30}(\?[A-Za-z0-9=&%]{0,20})?", fullmatch=True
)


@settings(max_examples=60, deadline=None)
@given(
    body=st.binary(max_size=300),
    content_type=field_values,
    extra=field_values,
    path=paths,
    nonce=st.from_regex(r"[A-Za-z0-9_-]{1,24}", fullmatch=True),
    created=st.integers(min_value=NOW - 300, max_value=NOW + 300),
)
def test_whatever_we_sign_we_verify_and_any_body_change_is_refused(
    body: bytes, content_type: str, extra: str, path: str, nonce: str, created: int
) -> None:
    components = (*DEFAULT_REQUEST_COMPONENTS, "x-extra")
    headers = {"content-type": content_type, "x-extra": extra}
    headers.update(
        sign_request(
            "POST",
            AUTHORITY,
            path,
            headers,
            body,
            key=KEY,
            keyid="ncb-fr-2026",
            created=created,
            nonce=nonce,
            components=components,
        )
    )
    result = verify(headers, body=body, path=path)
    assert result.nonce == nonce
    with pytest.raises(Unauthorized) as info:
        verify(headers, body=body + b"\x00", path=path)
    assert info.value.slug == "digest-mismatch"
    tampered = dict(headers, **{"x-extra": extra + "x"})
    with pytest.raises(Unauthorized) as info:
        verify(tampered, body=body, path=path)
    assert info.value.slug == "signature-invalid"
