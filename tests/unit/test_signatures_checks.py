"""gateway.signatures.verify_request: every check refuses with its own slug and a detail a
sender can act on. Requests are signed for real; each test breaks one thing."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence

import pytest

from gateway import crypto
from gateway.errors import Unauthorized
from gateway.keys import KeyID, KeyRecord
from gateway.signatures import (
    DEFAULT_REQUEST_COMPONENTS,
    VerifiedSignature,
    content_digest,
    request_signature_base,
    sign_request,
    verify_request,
)

NOW = 1_763_626_500
AUTHORITY = "gateway.example"
PATH = "/v1/messages"
BODY = b'{"message_id": "m-1"}'
KEY = crypto.private_key_from_seed(b"\x07" * 32)
OTHER = crypto.private_key_from_seed(b"\x08" * 32)


def utc(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


KEYS = {
    KeyID("good"): KeyRecord(KeyID("good"), "ncb-fr", KEY.public),
    KeyID("other"): KeyRecord(KeyID("other"), "ncb-de", OTHER.public),
    KeyID("revoked"): KeyRecord(KeyID("revoked"), "ncb-fr", KEY.public, revoked=True),
    KeyID("future"): KeyRecord(KeyID("future"), "ncb-fr", KEY.public, not_before=utc(NOW + 3600)),
    KeyID("old"): KeyRecord(KeyID("old"), "ncb-fr", KEY.public, not_after=utc(NOW - 1)),
    KeyID("window"): KeyRecord(
        KeyID("window"), "ncb-fr", KEY.public, not_before=utc(NOW - 10), not_after=utc(NOW + 10)
    ),
}


def signed(
    body: bytes = BODY,
    *,
    key: crypto.PrivateKey = KEY,
    keyid: str = "good",
    created: int = NOW,
    expires: int | None = None,
    label: str = "sig1",
    components: Sequence[str] = DEFAULT_REQUEST_COMPONENTS,
    extra_headers: dict[str, str] | None = None,
) -> dict[str, str]:
    headers = {"content-type": "application/vnd.interpol.notice+json", **(extra_headers or {})}
    headers.update(
        sign_request(
            "POST",
            AUTHORITY,
            PATH,
            headers,
            body,
            key=key,
            keyid=keyid,
            created=created,
            expires=expires,
            nonce="nonce-1",
            label=label,
            components=components,
        )
    )
    return headers


def hand_signed(params: str, components: Sequence[str], *, label: str = "sig1") -> dict[str, str]:
    """A request signed over exactly ``params`` (to build what sign_request never would)."""
    headers = {"content-type": "application/json", "content-digest": content_digest(BODY)}
    base = request_signature_base(
        "POST", AUTHORITY, PATH, headers, components=components, signature_params=params
    )
    headers["signature-input"] = f"{label}={params}"
    headers["signature"] = f"{label}=:{base64.b64encode(KEY.sign(base.encode())).decode()}:"
    return headers


def check(
    headers: dict[str, str],
    body: bytes = BODY,
    *,
    method: str = "POST",
    authority: str = AUTHORITY,
    path: str = PATH,
    now: int = NOW,
    label: str | None = None,
) -> VerifiedSignature:
    return verify_request(
        method=method,
        authority=authority,
        path=path,
        headers=headers,
        body=body,
        expected_authority=AUTHORITY,
        now=now,
        window_seconds=300,
        resolve_key=KEYS.get,
        label=label,
    )


def refused(
    slug: str, headers: dict[str, str], body: bytes = BODY, **kwargs: object
) -> Unauthorized:
    with pytest.raises(Unauthorized) as info:
        check(headers, body, **kwargs)  # type: ignore[arg-type]
    assert info.value.slug == slug, info.value.detail
    assert info.value.status == 401
    assert info.value.problem()["type"] == f"urn:gateway:problem:{slug}"
    return info.value


def test_the_unbroken_request_passes() -> None:
    assert check(signed()).participant == "ncb-fr"


# --- fields and their syntax -----------------------------------------------------------


def test_signature_missing() -> None:
    headers = signed()
    error = refused("signature-missing", {"content-type": headers["content-type"]})
    assert "no Signature-Input and Signature field" in error.detail
    only_input = {k: v for k, v in headers.items() if k != "signature"}
    assert "no Signature field" in refused("signature-missing", only_input).detail
    only_signature = {k: v for k, v in headers.items() if k != "signature-input"}
    assert refused("signature-missing", only_signature).field == "signature-input"
    refused("signature-missing", dict(headers, **{"signature-input": ""}))


@pytest.mark.parametrize(
    ("signature_input", "detail"),
    [
        ('sig1=("@method"', "not an RFC 8941 dictionary: at position 15"),
        ('sig1="@method";created=1', "must be an inner list"),
        ("sig1=(@method);created=1", "not an RFC 8941 dictionary"),
        ("sig1=(1 2);created=1", "is not a non-empty string"),
        ('sig1=("Content-Type")', "must be lower-case"),
        ('sig1=("@method" "@method")', "twice or at all"),
        ('sig1=("@signature-params")', "twice or at all"),
        ('sig1=("@method");created="now"', "created must be an integer"),
        ('sig1=("@method");created=?1', "created must be an integer"),
        ('sig1=("@method");created=1;keyid=good', "keyid must be a string"),
    ],
)
def test_signature_input_malformed(signature_input: str, detail: str) -> None:
    headers = dict(signed(), **{"signature-input": signature_input})
    error = refused("signature-input-malformed", headers)
    assert detail in error.detail
    assert error.field == "signature-input"


def test_signature_malformed() -> None:
    headers = signed()
    assert (
        "not an RFC 8941"
        in refused("signature-malformed", dict(headers, signature="sig1=:abc")).detail
    )
    error = refused("signature-malformed", dict(headers, signature='sig1="c2ln"'))
    assert "must be a byte sequence" in error.detail


def test_folded_or_duplicated_signature_fields_are_refused_as_ambiguous() -> None:
    """Two field lines combined by the server (RFC 9110 §5.3) give one label twice."""
    first, second = signed(), signed(key=OTHER, keyid="other")
    both_signatures = dict(first, signature=f"{first['signature']}, {second['signature']}")
    error = refused("signature-malformed", both_signatures)
    assert "key 'sig1' appears more than once" in error.detail
    both_inputs = dict(
        first, **{"signature-input": f"{first['signature-input']}, {second['signature-input']}"}
    )
    refused("signature-input-malformed", both_inputs)


def test_signature_label_mismatch() -> None:
    headers = signed()
    other_label = dict(headers, signature=headers["signature"].replace("sig1=", "sig2=", 1))
    error = refused("signature-label-mismatch", other_label)
    assert "Signature has no member with that label" in error.detail
    error = refused("signature-label-mismatch", headers, label="receipt")
    assert "no signature labelled 'receipt'; Signature-Input has sig1" in error.detail


@pytest.mark.parametrize(
    ("params", "components", "detail"),
    [
        ('("content-type";sf);created=1', ("content-type",), "with parameters (sf)"),
        ('("@query-param";name="a");created=1', ("@query",), "with parameters (name)"),
        ('("@status");created=1', ("@method",), "'@status', which is not supported here"),
        ('("@target-uri");created=1', ("@method",), "needs the request's scheme"),
    ],
)
def test_signature_component_unsupported(
    params: str, components: tuple[str, ...], detail: str
) -> None:
    headers = hand_signed(params, components)
    headers["signature-input"] = "sig1=" + params
    # Coverage is checked before the components are resolved, so ask for no coverage.
    with pytest.raises(Unauthorized) as info:
        verify_request(
            method="POST",
            authority=AUTHORITY,
            path=PATH,
            headers=headers,
            body=BODY,
            expected_authority=AUTHORITY,
            now=NOW,
            window_seconds=300,
            resolve_key=KEYS.get,
            required_components=(),
        )
    assert info.value.slug == "signature-component-unsupported"
    assert detail in info.value.detail


@pytest.mark.parametrize("missing", DEFAULT_REQUEST_COMPONENTS)
def test_signature_components_missing_names_the_component(missing: str) -> None:
    components = [c for c in DEFAULT_REQUEST_COMPONENTS if c != missing]
    error = refused("signature-components-missing", signed(components=components))
    assert f"must cover {missing} (covers " in error.detail
    assert error.extra == {"missing_components": [missing]}


@pytest.mark.parametrize("missing", ["created", "keyid", "nonce"])
def test_signature_params_missing(missing: str) -> None:
    values = {"created": str(NOW), "keyid": '"good"', "nonce": '"n"'}
    params = "".join(f";{k}={v}" for k, v in values.items() if k != missing)
    components = DEFAULT_REQUEST_COMPONENTS
    inner = "(" + " ".join(f'"{c}"' for c in components) + ")" + params
    error = refused("signature-params-missing", hand_signed(inner, components))
    assert f"lacks the parameter(s) {missing}" in error.detail


@pytest.mark.parametrize("alg", ["rsa-pss-sha512", "hmac-sha256", "ED25519"])
def test_signature_alg_unsupported(alg: str) -> None:
    components = DEFAULT_REQUEST_COMPONENTS
    inner = (
        "(" + " ".join(f'"{c}"' for c in components) + ")"
        f';created={NOW};keyid="good";nonce="n";alg="{alg}"'
    )
    error = refused("signature-alg-unsupported", hand_signed(inner, components))
    assert f"alg is '{alg}'" in error.detail


# --- keys ------------------------------------------------------------------------------


def test_key_unknown() -> None:
    error = refused("key-unknown", signed(keyid="nobody"))
    assert "no participant has a key with keyid 'nobody'" in error.detail


def test_key_revoked() -> None:
    assert "is revoked" in refused("key-revoked", signed(keyid="revoked")).detail


def test_key_not_yet_valid() -> None:
    error = refused("key-not-yet-valid", signed(keyid="future"))
    assert "is valid from 2025-11-20T09:15:00Z" in error.detail


def test_key_expired() -> None:
    assert "expired at 2025-11-20T08:14:59Z" in refused("key-expired", signed(keyid="old")).detail


def test_key_validity_uses_the_given_clock() -> None:
    headers = signed(keyid="window", created=NOW + 11)
    refused("key-expired", headers, now=NOW + 11)
    headers = signed(keyid="window", created=NOW - 11)
    refused("key-not-yet-valid", headers, now=NOW - 11)
    assert check(signed(keyid="window")).keyid == "window"


# --- freshness -------------------------------------------------------------------------


def test_created_too_old_says_by_how_much() -> None:
    error = refused("signature-created-too-old", signed(created=NOW - 412))
    assert error.detail == "created is 412 s in the past; the window is ±300 s"


def test_created_in_future() -> None:
    error = refused("signature-created-in-future", signed(created=NOW + 301))
    assert error.detail.startswith("created is 301 s in the future; the window is ±300 s")


def test_the_window_edges_are_inside() -> None:
    check(signed(created=NOW - 300))
    check(signed(created=NOW + 300))


def test_signature_expired() -> None:
    error = refused("signature-expired", signed(created=NOW - 10, expires=NOW - 2))
    assert "expired 2 s ago" in error.detail
    check(signed(created=NOW - 10, expires=NOW))  # still valid at its expiry second


# --- the message -----------------------------------------------------------------------


def test_authority_mismatch() -> None:
    error = refused("authority-mismatch", signed(), authority="evil.example")
    assert (
        "addressed to 'evil.example'; the gateway's authority is 'gateway.example'" in error.detail
    )


def test_digest_missing() -> None:
    headers = {k: v for k, v in signed().items() if k != "content-digest"}
    refused("digest-missing", headers)
    sha512_only = dict(signed(), **{"content-digest": "sha-512=:" + "A" * 86 + "==:"})
    assert "must carry sha-256" in refused("digest-missing", sha512_only).detail


def test_digest_mismatch_when_the_body_is_tampered_with() -> None:
    error = refused("digest-mismatch", signed(), BODY.replace(b"m-1", b"m-2"))
    assert "does not match the 21-byte body" in error.detail


def test_a_present_digest_is_checked_even_when_not_required() -> None:
    components = ("@method", "@authority", "@path", "content-type")
    headers = signed(components=components)
    with pytest.raises(Unauthorized) as info:
        verify_request(
            method="POST",
            authority=AUTHORITY,
            path=PATH,
            headers=headers,
            body=BODY + b"!",
            expected_authority=AUTHORITY,
            now=NOW,
            window_seconds=300,
            resolve_key=KEYS.get,
            required_components=components,
        )
    assert info.value.slug == "digest-mismatch"


def test_signature_component_absent() -> None:
    components = (*DEFAULT_REQUEST_COMPONENTS, "x-ncb-case")
    headers = signed(components=components, extra_headers={"x-ncb-case": "2026/123"})
    del headers["x-ncb-case"]
    error = refused("signature-component-absent", headers)
    assert "covers 'x-ncb-case' but the message has no such field" in error.detail


# --- the signature itself --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("content-type", "application/json"),
        ("x-added-after", None),  # not covered: changing it is allowed (below)
    ],
)
def test_tampering_with_a_covered_header_is_signature_invalid(name: str, value: str | None) -> None:
    headers = signed()
    if value is None:
        check(dict(headers, **{name: "anything"}))
        return
    error = refused("signature-invalid", dict(headers, **{name: value}))
    assert "does not verify with key 'good'" in error.detail


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", PATH), ("post", PATH), ("POST", "/v1/messages/"), ("POST", "/V1/messages")],
)
def test_tampering_with_derived_components_is_signature_invalid(method: str, path: str) -> None:
    refused("signature-invalid", signed(), method=method, path=path)


def test_changing_a_signature_parameter_is_signature_invalid() -> None:
    headers = signed()
    changed = headers["signature-input"].replace('nonce="nonce-1"', 'nonce="nonce-2"')
    refused("signature-invalid", dict(headers, **{"signature-input": changed}))


def test_wrong_key_is_signature_invalid() -> None:
    """Signed by another participant's key but naming ours."""
    refused("signature-invalid", signed(key=OTHER, keyid="good"))


def test_a_signature_of_the_wrong_length_is_signature_invalid() -> None:
    headers = dict(signed(), signature="sig1=:" + base64.b64encode(b"\x01" * 32).decode() + ":")
    refused("signature-invalid", headers)


# --- several signatures ----------------------------------------------------------------


def test_one_good_signature_among_several_is_enough_and_is_the_one_returned() -> None:
    good = signed(label="ncb")
    stranger = signed(key=OTHER, keyid="nobody", label="proxy")
    headers = dict(
        good,
        **{
            "signature-input": f"{stranger['signature-input']}, {good['signature-input']}",
            "signature": f"{stranger['signature']}, {good['signature']}",
        },
    )
    result = check(headers)
    assert result.label == "ncb" and result.keyid == "good"
    assert check(headers, label="ncb").label == "ncb"
    refused("key-unknown", headers, label="proxy")


def test_when_all_fail_the_signature_that_got_furthest_explains() -> None:
    stale = signed(created=NOW - 1000, label="a")  # fails at freshness
    unknown = signed(keyid="nobody", label="b")  # fails earlier, at the key
    headers = dict(
        stale,
        **{
            "signature-input": f"{unknown['signature-input']}, {stale['signature-input']}",
            "signature": f"{unknown['signature']}, {stale['signature']}",
        },
    )
    error = refused("signature-created-too-old", headers)
    assert "1000 s in the past" in error.detail
