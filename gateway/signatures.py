"""HTTP Message Signatures (RFC 9421) with Ed25519 over a Content-Digest (RFC 9530), as
signatures.md profiles them: the one place the gateway signs and checks HTTP messages.

The signature base is built from the values exactly as received (RFC 9421 §2.5): header
values are only trimmed of surrounding whitespace (§2.1), the `@signature-params` line is
the Signature-Input member's text as the signer wrote it, and the digest is taken over the
body bytes as received. Nothing is re-serialised before checking.

Verification is a pipeline of small named checks (`_VERIFY_PIPELINE`); each refuses with
`gateway.errors.Unauthorized` carrying the slug of the failed check (docs/signatures.md
lists them). Nonce replay is not checked here: storage records (keyid, nonce) in the same
transaction as the message's audit events, so the nonce is returned instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway import crypto
from gateway.errors import Unauthorized
from gateway.keys import KeyID, KeyRecord
from gateway.structured_fields import (
    BareItem,
    InnerList,
    Item,
    StructuredFieldError,
    parse_dictionary,
    serialize_inner_list,
)

__all__ = [
    "ALGORITHM",
    "DEFAULT_REQUEST_COMPONENTS",
    "DEFAULT_RESPONSE_COMPONENTS",
    "REQUIRED_REQUEST_PARAMS",
    "REQUIRED_RESPONSE_PARAMS",
    "SigningError",
    "VerifiedSignature",
    "check_content_digest",
    "content_digest",
    "request_signature_base",
    "response_signature_base",
    "sign_request",
    "sign_response",
    "verify_request",
    "verify_response",
]

ALGORITHM = "ed25519"  # RFC 9421 §3.3.6
DEFAULT_REQUEST_COMPONENTS: tuple[str, ...] = (
    "@method",
    "@authority",
    "@path",
    "content-type",
    "content-digest",
)
DEFAULT_RESPONSE_COMPONENTS: tuple[str, ...] = ("@status", "content-type", "content-digest")
REQUIRED_REQUEST_PARAMS: tuple[str, ...] = ("created", "keyid", "nonce")
REQUIRED_RESPONSE_PARAMS: tuple[str, ...] = ("created", "keyid")
_PARAM_ORDER = ("created", "expires", "nonce", "keyid", "alg")
_REQUEST_DERIVED = frozenset(
    {"@method", "@authority", "@path", "@query", "@target-uri", "@scheme", "@request-target"}
)
_RESPONSE_DERIVED = frozenset({"@status"})
_DIGESTS: dict[str, Callable[[bytes], bytes]] = {
    "sha-256": lambda body: hashlib.sha256(body).digest(),
    "sha-512": lambda body: hashlib.sha512(body).digest(),
}


class SigningError(ValueError):
    """The caller asked to sign something that cannot be signed (a programming error)."""


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """The signature that passed every check, and who made it."""

    keyid: KeyID
    participant: str
    nonce: str  # "" only for a response signed without a nonce (verify_response)
    created: int
    expires: int | None
    label: str
    components: tuple[str, ...]
    signature_b64: str
    signature_params: str = ""  # the exact `@signature-params` value that was signed


# --- Content-Digest (RFC 9530) ---------------------------------------------------------


def content_digest(body: bytes) -> str:
    """The Content-Digest field value for ``body`` (RFC 9530 §2), SHA-256 only."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def check_content_digest(header: str | None, body: bytes) -> None:
    """Refuse unless ``header`` has a sha-256 digest of ``body``; a sha-512 digest, when
    present, must match too. Other algorithms are ignored (RFC 9530 §2)."""
    if header is None:
        raise _refuse("digest-missing", "the request has no Content-Digest field", "content-digest")
    try:
        members = parse_dictionary(header, unique_keys=True)
    except StructuredFieldError as exc:
        raise _refuse(
            "digest-malformed",
            f"Content-Digest is not an RFC 8941 dictionary: {exc}",
            "content-digest",
        ) from exc
    if "sha-256" not in members:
        got = ", ".join(members) or "nothing"
        raise _refuse(
            "digest-missing", f"Content-Digest must carry sha-256; it has {got}", "content-digest"
        )
    for algorithm, member in members.items():
        compute = _DIGESTS.get(algorithm)
        if compute is None:
            continue
        value = member.value
        if not isinstance(value, Item) or not isinstance(value.value, bytes):
            raise _refuse(
                "digest-malformed",
                f"Content-Digest {algorithm} is not a byte sequence",
                "content-digest",
            )
        if not hmac.compare_digest(value.value, compute(body)):
            raise _refuse(
                "digest-mismatch",
                f"Content-Digest {algorithm} does not match the {len(body)}-byte body received; "
                "digest the exact bytes sent",
                "content-digest",
            )


# --- Messages and the signature base (RFC 9421 §2) -------------------------------------


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    authority: str
    target: str  # path with an optional "?query", as in the request line
    headers: Mapping[str, str]  # lower-case names
    scheme: str | None = None


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    headers: Mapping[str, str]


_Message = _Request | _Response


class _ComponentError(Exception):
    def __init__(self, slug: str, detail: str) -> None:
        self.slug = slug
        self.detail = detail
        super().__init__(detail)


def _derived(name: str, message: _Message) -> str:
    """§2.2: the value of a derived component."""
    if isinstance(message, _Response):
        if name == "@status":
            return f"{message.status:03d}"
        raise _ComponentError(
            "signature-component-unsupported",
            f"{name} is a request component; a response "
            "signature may not cover it (';req' is not supported)",
        )
    path, has_query, query = message.target.partition("?")
    path = path or "/"
    if name == "@method":
        return message.method
    if name == "@authority":
        return message.authority.lower()
    if name == "@path":
        return path
    if name == "@query":
        return "?" + query
    if name == "@request-target":
        return path + (has_query + query)
    if name in ("@scheme", "@target-uri"):
        if message.scheme is None:
            raise _ComponentError(
                "signature-component-unsupported",
                f"{name} needs the request's scheme, which this endpoint does not know",
            )
        scheme = message.scheme.lower()
        if name == "@scheme":
            return scheme
        return f"{scheme}://{message.authority.lower()}{path}{has_query}{query}"
    raise _ComponentError(
        "signature-component-unsupported", f"{name} is not a component of a request"
    )


def _component_value(name: str, message: _Message) -> str:
    if name.startswith("@"):
        return _derived(name, message)
    value = message.headers.get(name)
    if value is None:
        slug = "digest-missing" if name == "content-digest" else "signature-component-absent"
        raise _ComponentError(
            slug, f"the signature covers {name!r} but the message has no such field"
        )
    value = value.strip(" \t")  # §2.1: trim leading and trailing whitespace
    if "\n" in value or "\r" in value:
        raise _ComponentError("signature-invalid", f"field {name!r} contains a line break")
    return value


def _signature_base(message: _Message, components: Sequence[str], params: str) -> str:
    """§2.5: one line per covered component, then the `@signature-params` line."""
    lines = [f'"{name}": {_component_value(name, message)}' for name in components]
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines)


def request_signature_base(
    method: str,
    authority: str,
    path: str,
    headers: Mapping[str, str],
    *,
    components: Sequence[str],
    signature_params: str,
    scheme: str | None = None,
) -> str:
    """The RFC 9421 §2.5 signature base of a request (for tests, tools and audits)."""
    message = _Request(method, authority, path, _lower(headers), scheme)
    try:
        return _signature_base(message, components, signature_params)
    except _ComponentError as exc:
        raise SigningError(exc.detail) from None


def response_signature_base(
    status: int, headers: Mapping[str, str], *, components: Sequence[str], signature_params: str
) -> str:
    message = _Response(status, _lower(headers))
    try:
        return _signature_base(message, components, signature_params)
    except _ComponentError as exc:
        raise SigningError(exc.detail) from None


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


# --- Signing (RFC 9421 §3.1) -----------------------------------------------------------


def _signature_params(
    components: Sequence[str], created: int, expires: int | None, nonce: str, keyid: str
) -> str:
    values: dict[str, BareItem | None] = {
        "created": created,
        "expires": expires,
        "nonce": nonce,
        "keyid": keyid,
        "alg": ALGORITHM,
    }
    params = {k: v for k in _PARAM_ORDER if (v := values[k]) is not None}
    try:
        return serialize_inner_list(InnerList(tuple(Item(c) for c in components), params))
    except ValueError as exc:
        raise SigningError(f"cannot serialise the signature parameters: {exc}") from exc


def _sign(
    message: _Message,
    *,
    key: crypto.AnyPrivateKey,
    keyid: str,
    created: int,
    expires: int | None,
    nonce: str,
    label: str,
    components: Sequence[str],
) -> tuple[str, str]:
    if len(set(components)) != len(components):
        raise SigningError(f"components repeat a name: {list(components)}")
    params = _signature_params(components, created, expires, nonce, keyid)
    try:
        base = _signature_base(message, components, params).encode("latin-1")
    except _ComponentError as exc:
        raise SigningError(exc.detail) from None
    except UnicodeEncodeError as exc:
        raise SigningError(f"a covered value is not representable on the wire: {exc}") from None
    signature = crypto.sign(crypto.as_private_key(key), base)
    return f"{label}={params}", f"{label}=:{base64.b64encode(signature).decode('ascii')}:"


def sign_request(
    method: str,
    authority: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    key: crypto.AnyPrivateKey,
    keyid: str,
    created: int,
    expires: int | None = None,
    nonce: str,
    label: str = "sig1",
    components: Sequence[str] = DEFAULT_REQUEST_COMPONENTS,
    scheme: str | None = None,
) -> dict[str, str]:
    """The fields to add to a request: content-digest, signature-input and signature.
    ``path`` is the request target (path and optional "?query")."""
    digest = content_digest(body)
    fields = _lower(headers) | {"content-digest": digest}
    message = _Request(method, authority, path, fields, scheme)
    signature_input, signature = _sign(
        message,
        key=key,
        keyid=keyid,
        created=created,
        expires=expires,
        nonce=nonce,
        label=label,
        components=components,
    )
    return {"content-digest": digest, "signature-input": signature_input, "signature": signature}


def sign_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    key: crypto.AnyPrivateKey,
    keyid: str,
    created: int,
    nonce: str,
    expires: int | None = None,
    label: str = "sig1",
    components: Sequence[str] = DEFAULT_RESPONSE_COMPONENTS,
) -> dict[str, str]:
    """The fields to add to a response (signatures.md, Receipts)."""
    digest = content_digest(body)
    message = _Response(status, _lower(headers) | {"content-digest": digest})
    signature_input, signature = _sign(
        message,
        key=key,
        keyid=keyid,
        created=created,
        expires=expires,
        nonce=nonce,
        label=label,
        components=components,
    )
    return {"content-digest": digest, "signature-input": signature_input, "signature": signature}


# --- Verification (RFC 9421 §3.2) ------------------------------------------------------

# The checks in the order they run. With several signatures on one message, the one that
# got furthest explains the refusal.
_PIPELINE_ORDER = (
    "signature-label-mismatch",
    "signature-input-malformed",
    "signature-component-unsupported",
    "signature-components-missing",
    "signature-params-missing",
    "signature-alg-unsupported",
    "key-unknown",
    "key-revoked",
    "key-not-yet-valid",
    "key-expired",
    "signature-created-too-old",
    "signature-created-in-future",
    "signature-expired",
    "authority-mismatch",
    "digest-missing",
    "digest-malformed",
    "digest-mismatch",
    "signature-component-absent",
    "signature-invalid",
)
_RANK = {slug: rank for rank, slug in enumerate(_PIPELINE_ORDER)}


@dataclass(frozen=True, slots=True)
class _Candidate:
    """One labelled signature as received: its Signature-Input member and signature."""

    label: str
    member: InnerList | Item
    source: str  # exact text of the Signature-Input member value
    signature: bytes | None  # None when Signature has no member with this label


@dataclass(frozen=True, slots=True)
class _Policy:
    expected_authority: str | None
    now: int
    window_seconds: int
    resolve_key: Callable[[KeyID], KeyRecord | None]
    required_components: tuple[str, ...]
    required_params: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Params:
    created: int
    keyid: KeyID
    nonce: str | None
    expires: int | None
    alg: str | None


def verify_request(
    *,
    method: str,
    authority: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    expected_authority: str,
    now: int,
    window_seconds: int,
    resolve_key: Callable[[KeyID], KeyRecord | None],
    required_components: Sequence[str] = DEFAULT_REQUEST_COMPONENTS,
    label: str | None = None,
    scheme: str | None = None,
) -> VerifiedSignature:
    """Check a participant's signed request; return the signature that passed.

    ``headers`` has lower-case names, a field received several times joined with ", "
    (RFC 9110 §5.3). ``path`` is the request target as received (path, optional "?query").
    With ``label``, only that signature is considered; otherwise every labelled signature
    is tried in order and the first that passes every check is returned.
    """
    policy = _Policy(
        expected_authority,
        now,
        window_seconds,
        resolve_key,
        tuple(required_components),
        REQUIRED_REQUEST_PARAMS,
    )
    message = _Request(method, authority, path, headers, scheme)
    return _verify(message, body, policy, label)


def verify_response(
    *,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    now: int,
    window_seconds: int,
    resolve_key: Callable[[KeyID], KeyRecord | None],
    required_components: Sequence[str] = DEFAULT_RESPONSE_COMPONENTS,
    label: str | None = None,
) -> VerifiedSignature:
    """Check a signed response (a recipient's answer, or the gateway's receipt). A nonce
    is optional here; `VerifiedSignature.nonce` is "" when there is none."""
    policy = _Policy(
        None,
        now,
        window_seconds,
        resolve_key,
        tuple(required_components),
        REQUIRED_RESPONSE_PARAMS,
    )
    return _verify(_Response(status, headers), body, policy, label)


def _verify(
    message: _Message, body: bytes, policy: _Policy, label: str | None
) -> VerifiedSignature:
    candidates = _candidates(message.headers, label)
    if len(candidates) == 1:
        return _verify_candidate(candidates[0], message, body, policy)
    refusals: list[Unauthorized] = []
    for candidate in candidates:
        try:
            return _verify_candidate(candidate, message, body, policy)
        except Unauthorized as refusal:
            refusals.append(refusal)
    raise max(refusals, key=lambda r: _RANK.get(r.slug, -1))


def _candidates(headers: Mapping[str, str], label: str | None) -> list[_Candidate]:
    """Parse Signature-Input and Signature (RFC 9421 §4.1, §4.2). A label repeated inside
    either field (for instance in two field lines combined) is refused as ambiguous."""
    raw_input, raw_signature = headers.get("signature-input"), headers.get("signature")
    if raw_input is None or raw_signature is None:
        missing = " and ".join(
            name
            for name, raw in (("Signature-Input", raw_input), ("Signature", raw_signature))
            if raw is None
        )
        raise _refuse(
            "signature-missing",
            f"the message has no {missing} field; sign it with RFC 9421 (docs/signatures.md)",
            "signature-input" if raw_input is None else "signature",
        )
    try:
        inputs = parse_dictionary(raw_input, unique_keys=True)
    except StructuredFieldError as exc:
        raise _refuse(
            "signature-input-malformed",
            f"Signature-Input is not an RFC 8941 dictionary: {exc}",
            "signature-input",
        ) from exc
    try:
        signatures = parse_dictionary(raw_signature, unique_keys=True)
    except StructuredFieldError as exc:
        raise _refuse(
            "signature-malformed", f"Signature is not an RFC 8941 dictionary: {exc}", "signature"
        ) from exc
    if not inputs:
        raise _refuse("signature-missing", "Signature-Input is empty", "signature-input")
    if label is not None and label not in inputs:
        raise _refuse(
            "signature-label-mismatch",
            f"no signature labelled {label!r}; Signature-Input has {', '.join(inputs)}",
            "signature-input",
        )
    out = []
    for name in (label,) if label is not None else tuple(inputs):
        member = inputs[name]
        signed = signatures.get(name)
        value = None if signed is None else signed.value
        if value is not None and not (isinstance(value, Item) and isinstance(value.value, bytes)):
            raise _refuse(
                "signature-malformed",
                f"Signature {name!r} must be a byte sequence (:base64:)",
                "signature",
            )
        signature = None if value is None else value.value
        assert signature is None or isinstance(signature, bytes)
        out.append(_Candidate(name, member.value, member.source, signature))
    return out


def _verify_candidate(
    candidate: _Candidate, message: _Message, body: bytes, policy: _Policy
) -> VerifiedSignature:
    signature = _check_label(candidate)
    components = _check_components(candidate, message)
    _check_param_types(candidate)
    _check_required_components(candidate.label, components, policy.required_components)
    params = _check_required_params(candidate, policy.required_params)
    _check_alg(params)
    key = _check_key(params.keyid, policy.resolve_key, policy.now)
    _check_freshness(params, policy.now, policy.window_seconds)
    _check_authority(message, policy.expected_authority)
    _check_digest(message, body, components)
    _check_signature(candidate, message, components, key, signature)
    return VerifiedSignature(
        keyid=key.keyid,
        participant=key.participant,
        nonce=params.nonce or "",
        created=params.created,
        expires=params.expires,
        label=candidate.label,
        components=components,
        signature_b64=base64.b64encode(signature).decode("ascii"),
        signature_params=candidate.source,
    )


def _check_label(candidate: _Candidate) -> bytes:
    if candidate.signature is None:
        raise _refuse(
            "signature-label-mismatch",
            f"Signature-Input has {candidate.label!r} but Signature has no member with that label",
            "signature",
        )
    return candidate.signature


def _check_components(candidate: _Candidate, message: _Message) -> tuple[str, ...]:
    """The covered components: plain, lower-case names, each once (RFC 9421 §2, §2.5)."""
    label, member = candidate.label, candidate.member
    if not isinstance(member, InnerList):
        raise _malformed(label, 'must be an inner list of components, like ("@method" …)')
    derived = _REQUEST_DERIVED if isinstance(message, _Request) else _RESPONSE_DERIVED
    names: list[str] = []
    for item in member.items:
        name = item.value
        if not isinstance(name, str) or not name:
            raise _malformed(label, f"component {item.value!r} is not a non-empty string")
        if name != name.lower():
            raise _malformed(label, f"component {name!r} must be lower-case")
        if name == "@signature-params" or name in names:
            raise _malformed(label, f"component {name!r} may not appear here twice or at all")
        if item.params:
            raise _refuse(
                "signature-component-unsupported",
                f"signature {label!r} covers {name!r} with parameters "
                f"({', '.join(item.params)}); only plain components are supported",
                "signature-input",
            )
        if name in ("@scheme", "@target-uri") and getattr(message, "scheme", "") is None:
            raise _refuse(
                "signature-component-unsupported",
                f"signature {label!r} covers {name!r}, which needs the request's scheme; "
                "this endpoint does not know it",
                "signature-input",
            )
        if name.startswith("@") and name not in derived:
            raise _refuse(
                "signature-component-unsupported",
                f"signature {label!r} covers {name!r}, which is not supported here "
                f"(supported: {', '.join(sorted(derived))} and header fields)",
                "signature-input",
            )
        names.append(name)
    return tuple(names)


def _check_required_components(
    label: str, components: tuple[str, ...], required: tuple[str, ...]
) -> None:
    missing = [name for name in required if name not in components]
    if missing:
        raise Unauthorized(
            "signature-components-missing",
            f"signature {label!r} must cover {', '.join(missing)} "
            f"(covers {', '.join(components) or 'nothing'})",
            field="signature-input",
            extra={"missing_components": missing},
        )


def _check_param_types(candidate: _Candidate) -> None:
    """§2.3: created and expires are integers; keyid, nonce and alg are strings."""
    params = candidate.member.params
    for name in ("created", "expires"):
        value = params.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise _malformed(candidate.label, f"parameter {name} must be an integer")
    for name in ("keyid", "nonce", "alg"):
        value = params.get(name)
        if value is not None and not isinstance(value, str):
            raise _malformed(candidate.label, f'parameter {name} must be a string ("…")')


def _check_required_params(candidate: _Candidate, required: tuple[str, ...]) -> _Params:
    """The parameters this profile requires must be there (signatures.md, Requests)."""
    params = candidate.member.params
    missing = [name for name in required if name not in params]
    if missing:
        raise Unauthorized(
            "signature-params-missing",
            f"signature {candidate.label!r} lacks the parameter(s) {', '.join(missing)}; "
            f"required: {', '.join(required)}",
            field="signature-input",
            extra={"missing_params": missing},
        )
    created, keyid, nonce = params["created"], params["keyid"], params.get("nonce")
    expires, alg = params.get("expires"), params.get("alg")
    assert isinstance(created, int) and isinstance(keyid, str)
    assert (nonce is None or isinstance(nonce, str)) and (alg is None or isinstance(alg, str))
    assert expires is None or isinstance(expires, int)
    return _Params(created, KeyID(keyid), nonce, expires, alg)


def _check_alg(params: _Params) -> None:
    if params.alg is not None and params.alg != ALGORITHM:
        raise _refuse(
            "signature-alg-unsupported",
            f"alg is {params.alg!r}; the gateway accepts only {ALGORITHM!r} (or no alg)",
            "signature-input",
        )


def _check_key(
    keyid: KeyID, resolve_key: Callable[[KeyID], KeyRecord | None], now: int
) -> KeyRecord:
    """signatures.md §Keys: known, not revoked, inside its validity period."""
    key = resolve_key(keyid)
    if key is None:
        raise _refuse("key-unknown", f"no participant has a key with keyid {keyid!r}", "keyid")
    owner = f"key {keyid!r} of participant {key.participant!r}"
    if key.revoked:
        raise _refuse("key-revoked", f"{owner} is revoked; sign with a current key", "keyid")
    if key.not_before is not None and now < key.not_before.timestamp():
        raise _refuse("key-not-yet-valid", f"{owner} is valid from {_utc(key.not_before)}", "keyid")
    if key.not_after is not None and now > key.not_after.timestamp():
        raise _refuse("key-expired", f"{owner} expired at {_utc(key.not_after)}", "keyid")
    return key


def _check_freshness(params: _Params, now: int, window: int) -> None:
    """signatures.md §Freshness: created within ±window of our clock; expires honoured."""
    age = now - params.created
    if age > window:
        raise _refuse(
            "signature-created-too-old",
            f"created is {age} s in the past; the window is ±{window} s",
            "created",
        )
    if -age > window:
        raise _refuse(
            "signature-created-in-future",
            f"created is {-age} s in the future; the window is ±{window} s; "
            "check the sender's clock",
            "created",
        )
    if params.expires is not None and now > params.expires:
        raise _refuse(
            "signature-expired",
            f"the signature expired {now - params.expires} s ago (expires={params.expires})",
            "expires",
        )


def _check_authority(message: _Message, expected: str | None) -> None:
    if expected is None or not isinstance(message, _Request):
        return
    if message.authority.lower() != expected.lower():
        raise _refuse(
            "authority-mismatch",
            f"the request was addressed to {message.authority!r}; "
            f"the gateway's authority is {expected!r}",
            "@authority",
        )


def _check_digest(message: _Message, body: bytes, components: tuple[str, ...]) -> None:
    """RFC 9530: a Content-Digest that is covered must be present; one that is present is
    always checked against the body bytes received."""
    header = message.headers.get("content-digest")
    if header is not None or "content-digest" in components:
        check_content_digest(header, body)


def _check_signature(
    candidate: _Candidate,
    message: _Message,
    components: tuple[str, ...],
    key: KeyRecord,
    signature: bytes,
) -> None:
    """§3.2 steps 6-8: rebuild the base from the received values and verify (§3.3.6)."""
    try:
        base = _signature_base(message, components, candidate.source).encode("latin-1")
    except _ComponentError as exc:
        raise _refuse(exc.slug, f"signature {candidate.label!r}: {exc.detail}") from None
    except UnicodeEncodeError:
        raise _refuse(
            "signature-invalid", "a covered value has characters that cannot come off the wire"
        ) from None
    if not crypto.verify(key.public_key, signature, base):
        raise _refuse(
            "signature-invalid",
            f"signature {candidate.label!r} does not verify with key {key.keyid!r} over the "
            "signature base built from the request as received; sign the exact field values "
            "and body you send",
            "signature",
        )


def _malformed(label: str, reason: str) -> Unauthorized:
    return _refuse("signature-input-malformed", f"signature {label!r}: {reason}", "signature-input")


def _refuse(slug: str, detail: str, field: str | None = None) -> Unauthorized:
    return Unauthorized(slug, detail, field=field)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
