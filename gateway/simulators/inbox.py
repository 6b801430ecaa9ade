"""What a simulated recipient checks in a delivery and what it keeps of it."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Any, Final, Literal

import orjson
from lxml import etree

from adapters.provenance import GCC_MEDIA_TYPE, GCC_NAMESPACE, INTERPOL_MEDIA_TYPE

__all__ = ["MODES", "InboxError", "Mode", "Received", "read_delivery"]

ModeName = Literal["ok", "down", "slow", "5xx", "4xx", "429"]
MODES: Final[frozenset[str]] = frozenset({"ok", "down", "slow", "5xx", "4xx", "429"})

_G = "{" + GCC_NAMESPACE + "}"
_PARSER: Final = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
_PROVENANCE_FIELDS = ("origin", "origin_message_id", "body_sha256", "keyid", "signature")
_XML_FIELDS = {
    "Origin": "origin",
    "OriginMessageID": "origin_message_id",
    "BodySHA256": "body_sha256",
    "KeyID": "keyid",
    "Signature": "signature",
    "AuditIndex": "audit_index",
}


@dataclass(frozen=True, slots=True)
class Mode:
    """How the simulator answers deliveries (POST /control)."""

    name: ModeName = "ok"
    delay: float = 0.0  # "slow": seconds before answering
    status: int | None = None  # "5xx" / "4xx": the status (default 503 / 400)
    retry_after: int | None = None  # "429" / "5xx": a Retry-After in seconds
    times: int | None = None  # fail this many deliveries, then back to "ok" (None: until told)

    @classmethod
    def from_json(cls, data: Any) -> Mode:
        if not isinstance(data, dict) or data.get("mode") not in MODES:
            raise ValueError(f'control: expected {{"mode": one of {sorted(MODES)}}}, got {data!r}')
        unknown = set(data) - {"mode", "delay", "status", "retry_after", "times"}
        if unknown:
            raise ValueError(f"control: unknown fields {sorted(unknown)}")
        mode = cls(
            name=data["mode"],
            delay=float(data.get("delay", 0.0)),
            status=data.get("status"),
            retry_after=data.get("retry_after"),
            times=data.get("times"),
        )
        if mode.status is not None and not (
            (mode.name == "5xx" and 500 <= mode.status <= 599)
            or (mode.name == "4xx" and 400 <= mode.status <= 499)
        ):
            raise ValueError(f"control: status {mode.status} does not fit mode {mode.name!r}")
        return mode

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.name,
            "delay": self.delay,
            "status": self.status,
            "retry_after": self.retry_after,
            "times": self.times,
        }


class InboxError(Exception):
    def __init__(self, status: int, slug: str, detail: str) -> None:
        self.status = status
        self.slug = slug
        self.detail = detail
        super().__init__(f"{slug}: {detail}")


@dataclass(frozen=True, slots=True)
class Received:
    message_id: str
    media_type: str
    body_sha256: str
    received_at: dt.datetime
    keyid: str  # the gateway key that signed the delivery
    provenance: dict[str, Any]
    body: bytes

    def to_json(self) -> dict[str, Any]:
        try:
            text: dict[str, str] = {"body": self.body.decode("utf-8")}
        except UnicodeDecodeError:
            text = {"body_b64": base64.b64encode(self.body).decode("ascii")}
        return {
            "message_id": self.message_id,
            "media_type": self.media_type,
            "body_sha256": self.body_sha256,
            "received_at": self.received_at.isoformat().replace("+00:00", "Z"),
            "keyid": self.keyid,
            "provenance": self.provenance,
            **text,
        }


def read_delivery(media_type: str, body: bytes) -> tuple[str, dict[str, Any]]:
    """The delivered message id and its provenance block; refuses a delivery without one."""
    essence = media_type.split(";", 1)[0].strip().lower()
    if essence == INTERPOL_MEDIA_TYPE:
        message_id, provenance = _read_json(body)
    elif essence == GCC_MEDIA_TYPE:
        message_id, provenance = _read_xml(body)
    else:
        raise InboxError(
            415,
            "unsupported-media-type",
            f"content type {media_type!r}; expected {INTERPOL_MEDIA_TYPE} or {GCC_MEDIA_TYPE}",
        )
    missing = [name for name in (*_PROVENANCE_FIELDS, "audit_index") if name not in provenance]
    if missing:
        raise InboxError(
            422,
            "provenance-incomplete",
            f"the provenance block lacks {', '.join(missing)} (signatures.md, provenance)",
        )
    return message_id, provenance


def _read_json(body: bytes) -> tuple[str, dict[str, Any]]:
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InboxError(400, "body-malformed", f"the body is not JSON: {exc}") from exc
    if not isinstance(message, dict) or not isinstance(message.get("message_id"), str):
        raise InboxError(400, "message-id-missing", "the body has no string message_id")
    provenance = message.get("_provenance")
    if not isinstance(provenance, dict):
        raise InboxError(422, "provenance-missing", "the body has no _provenance object")
    return message["message_id"], provenance


def _read_xml(body: bytes) -> tuple[str, dict[str, Any]]:
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise InboxError(400, "body-malformed", f"the body is not XML: {exc}") from exc
    message_id = root.findtext(f"{_G}MessageID")
    if root.tag != f"{_G}Message" or not message_id:
        raise InboxError(400, "message-id-missing", "the body has no gcc:Message/gcc:MessageID")
    block = root.find(f"{_G}Provenance")
    if block is None:
        raise InboxError(422, "provenance-missing", "the body has no gcc:Provenance element")
    provenance: dict[str, Any] = {}
    for tag, name in _XML_FIELDS.items():
        text = block.findtext(f"{_G}{tag}")
        if text is not None:
            provenance[name] = int(text) if name == "audit_index" and text.isdigit() else text
    provenance["losses"] = [
        {"field": x.get("field"), "source_value": x.get("sourceValue"), "reason": x.text or ""}
        for x in block.findall(f"{_G}Loss")
    ]
    return message_id.strip(), provenance
