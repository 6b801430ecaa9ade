"""Replay captures (docs/replay.md): a versioned JSON Lines record of inbound requests and
the outcome the gateway gave each one.

Line 1 is the header (`CaptureHeader`): format, version, the gateway's origin and public
key, the participants (with their public keys) and the routing rules in force. Every
further line is one `CapturedRequest`: arrival time, method, path, authority, the header
fields as received, the body (base64, absent once erased) and the `Outcome`.

A capture never holds a private key. Reading refuses a truncated, corrupted or
wrong-version file with the line number and the reason (`CaptureError`).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from gateway.storage.base import RequestRow

__all__ = [
    "FORMAT",
    "VERSION",
    "Capture",
    "CaptureError",
    "CaptureHeader",
    "CapturedKey",
    "CapturedParticipant",
    "CapturedRequest",
    "DeliveryResult",
    "GatewayIdentity",
    "Outcome",
    "RecipientResult",
    "Translation",
    "TranslationLoss",
    "kept_headers",
    "read_capture",
    "request_row",
    "write_capture",
]

FORMAT = "gateway-replay-capture"
VERSION = 1

# signatures.md: the fields every request signature covers; anything else it covers is
# named in Signature-Input and kept too (kept_headers).
_ALWAYS_KEPT = ("content-type", "content-digest", "signature-input", "signature")
_COVERED_FIELD = re.compile(r'"([a-z0-9][a-z0-9_.-]*)"')
MAX_KEPT_FIELD = 8192  # one kept field value, in characters (larger ones are cut: unsignable)


class CaptureError(ValueError):
    """A capture that cannot be read: names the file, the line and what is wrong."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        super().__init__(f"{path}:{line}: {reason}")


# ---- what is kept of a request (ingress writes it beside the event) --------------------------


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The header fields a replay needs: the signed ones, exactly as received."""
    wanted = set(_ALWAYS_KEPT)
    wanted.update(
        name
        for name in _COVERED_FIELD.findall(headers.get("signature-input", ""))
        if not name.startswith("@")
    )
    return {
        name: value[:MAX_KEPT_FIELD] for name, value in sorted(headers.items()) if name in wanted
    }


def request_row(
    *,
    event_pos: int,
    method: str,
    authority: str,
    path: str,
    headers: Mapping[str, str],
    body_sha256: str | None,
) -> RequestRow:
    return RequestRow(
        event_pos=event_pos,
        method=method[:16],
        authority=authority[:255],
        path=path[:2048],
        headers=orjson.dumps(kept_headers(headers)),
        body_sha256=body_sha256,
    )


# ---- the format (pydantic at the boundary) --------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CapturedKey(_Model):
    keyid: str
    public_key_b64: str  # raw 32-byte Ed25519 public key
    not_before: AwareDatetime | None = None
    not_after: AwareDatetime | None = None
    revoked: bool = False


class CapturedParticipant(_Model):
    id: str
    name: str
    schema_: str = Field(alias="schema")
    kind: str
    country: str | None = None
    endpoint: str
    may_send: list[str] = []
    audience: list[str] | None = None
    keys: list[CapturedKey] = []


class GatewayIdentity(_Model):
    id: str
    public_authority: str
    audit_origin: str
    signing_keyid: str
    public_key_b64: str
    verifier_key: str


class CaptureHeader(_Model):
    format: Literal["gateway-replay-capture"]
    version: int
    created_at: AwareDatetime
    source: str  # "audit-export" | "generated" | ...
    gateway: GatewayIdentity
    participants: list[CapturedParticipant]
    routing_toml: str  # routing.toml exactly as in force (its digest is rules_digest)
    rules_digest: str
    limits: dict[str, int | float] = {}  # [limits] settings that decide refusals
    requests: int  # the number of request lines that follow
    erased_bodies: list[str] = []  # digests of bodies no longer kept (retention)


class RecipientResult(_Model):
    participant: str
    outcome: str  # routed | refused
    reason: str
    detail: str
    losses: int = 0


class TranslationLoss(_Model):
    field: str
    source_value: Any = None
    reason: str


class Translation(_Model):
    recipient: str
    media_type: str
    body_sha256: str
    losses: list[TranslationLoss] = []
    body_b64: str | None = None  # absent once erased

    def body(self) -> bytes | None:
        return None if self.body_b64 is None else base64.b64decode(self.body_b64)


class DeliveryResult(_Model):
    """How the delivery went at capture time: recorded, not replayed (docs/replay.md)."""

    recipient: str
    state: str
    attempts: int
    last_status: int | None = None


class Outcome(_Model):
    status: int
    check: str | None = None  # the refusal's problem slug
    field: str | None = None
    detail: str | None = None
    message_id: str | None = None
    sender: str | None = None
    routing: str | None = None  # routed | refused | unrouted
    rules_digest: str | None = None
    recipients: list[RecipientResult] = []
    translations: list[Translation] = []
    deliveries: list[DeliveryResult] = []


class CapturedRequest(_Model):
    seq: int
    received_at: AwareDatetime
    method: str
    path: str
    authority: str
    headers: dict[str, str] | None = None  # None: not recorded (a log older than 0002)
    body_sha256: str
    body_b64: str | None = None  # None: erased, or not kept
    signature_verified: bool  # the signature passed at capture time
    keyid: str | None = None
    expected: Outcome
    note: str | None = None

    def body(self) -> bytes | None:
        return None if self.body_b64 is None else base64.b64decode(self.body_b64)


@dataclass(frozen=True, slots=True)
class Capture:
    path: Path
    header: CaptureHeader
    requests: tuple[CapturedRequest, ...]


# ---- reading and writing --------------------------------------------------------------------


def _problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(line)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def _json_line(path: Path, lineno: int, raw: bytes) -> dict[str, Any]:
    if not raw.endswith(b"\n"):
        raise CaptureError(path, lineno, "the line is cut short (no newline): truncated capture")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CaptureError(path, lineno, f"not JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise CaptureError(path, lineno, f"expected a JSON object, got {type(value).__name__}")
    return value


def read_header(path: Path, raw: bytes) -> CaptureHeader:
    value = _json_line(path, 1, raw)
    if value.get("format") != FORMAT:
        raise CaptureError(
            path, 1, f"not a replay capture: format is {value.get('format')!r}, expected {FORMAT!r}"
        )
    if value.get("version") != VERSION:
        raise CaptureError(
            path,
            1,
            f"capture version {value.get('version')!r}; this gateway reads version {VERSION}",
        )
    try:
        return CaptureHeader.model_validate(value)
    except ValidationError as exc:
        raise CaptureError(path, 1, f"bad header: {_problem(exc)}") from exc


def _request(path: Path, lineno: int, raw: bytes, expected_seq: int) -> CapturedRequest:
    value = _json_line(path, lineno, raw)
    try:
        req = CapturedRequest.model_validate(value)
    except ValidationError as exc:
        raise CaptureError(path, lineno, f"bad request line: {_problem(exc)}") from exc
    if req.seq != expected_seq:
        raise CaptureError(path, lineno, f"seq is {req.seq}, expected {expected_seq}")
    try:
        body = req.body()
    except ValueError as exc:
        raise CaptureError(path, lineno, f"body_b64 is not base64 ({exc})") from exc
    if body is not None:
        import hashlib

        digest = hashlib.sha256(body).hexdigest()
        if digest != req.body_sha256:
            raise CaptureError(
                path,
                lineno,
                f"the body's SHA-256 is {digest}, but the line says {req.body_sha256}: corrupted",
            )
    return req


def iter_capture(path: Path) -> tuple[CaptureHeader, Iterator[CapturedRequest]]:
    """The header, then the request lines one at a time (for captures too big to hold)."""
    fh = path.open("rb")
    try:
        first = fh.readline()
        if not first:
            raise CaptureError(path, 1, "the file is empty")
        header = read_header(path, first)
    except BaseException:
        fh.close()
        raise

    def lines() -> Iterator[CapturedRequest]:
        count = 0
        with fh:
            for lineno, raw in enumerate(fh, start=2):
                if not raw.strip():
                    raise CaptureError(path, lineno, "blank line inside the capture")
                count += 1
                yield _request(path, lineno, raw, count)
        if count != header.requests:
            raise CaptureError(
                path,
                count + 2,
                f"the header announces {header.requests} requests, the file has {count}: "
                "truncated capture",
            )

    return header, lines()


def read_capture(path: Path) -> Capture:
    """The whole capture, checked line by line (CaptureError names the first bad line)."""
    try:
        header, lines = iter_capture(path)
    except OSError as exc:
        raise CaptureError(path, 0, f"cannot read the file ({exc.strerror})") from exc
    return Capture(path, header, tuple(lines))


def dump_line(model: BaseModel) -> bytes:
    return orjson.dumps(model.model_dump(mode="json", by_alias=True, exclude_none=True)) + b"\n"


def write_capture(path: Path, header: CaptureHeader, requests: Iterable[CapturedRequest]) -> None:
    """Write atomically: a reader never sees half a capture."""
    tmp = path.with_name(path.name + ".part")
    with tmp.open("wb") as fh:
        fh.write(dump_line(header))
        for req in requests:
            fh.write(dump_line(req))
    tmp.replace(path)


def utc(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
