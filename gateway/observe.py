"""What operators see of each message outside the audit log: one structured log line per
accepted or refused request, per delivery attempt, and the Prometheus counters (api.md,
Service endpoints). Lines carry ids, digests and outcomes only — never a body, a token, a
key or a refusal's free-text detail (which may quote the body)."""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from gateway.errors import GatewayError
    from gateway.ingress import InboundRequest
    from gateway.runtime import Gateway
    from gateway.signatures import VerifiedSignature
    from schemas.canonical import CanonicalMessage

__all__ = ["accepted", "delivery_attempt", "refused"]

ingress_log = logging.getLogger("gateway.ingress")
delivery_log = logging.getLogger("gateway.delivery")


def accepted(
    gw: Gateway,
    message: CanonicalMessage,
    schema: str,
    signed: VerifiedSignature,
    receipt_body: bytes,
    *,
    repeat: bool,
) -> None:
    """A 202: counted once per new message (a repeat of an accepted one is not new)."""
    if not repeat:
        gw.metrics.received.labels(schema, message.kind.value).inc()
    if not ingress_log.isEnabledFor(logging.INFO):
        return  # below --log-level: skip parsing the receipt for a line nobody writes
    receipt: dict[str, Any] = orjson.loads(receipt_body)
    recipients = receipt.get("recipients", [])
    ingress_log.info(
        "message-accepted",
        extra={
            "fields": {
                "message_id": message.message_id,
                "sender": message.sender,
                "keyid": signed.keyid,
                "schema": schema,
                "kind": message.kind.value,
                "body_sha256": receipt.get("body_sha256"),
                "audit_index": receipt.get("audit_index"),
                "routing": receipt.get("routing"),
                "routed_to": [r["participant"] for r in recipients if r["outcome"] == "routed"],
                "refused_for": [r["participant"] for r in recipients if r["outcome"] != "routed"],
                "repeat": repeat,
                "status": 202,
            }
        },
    )


def refused(
    gw: Gateway,
    req: InboundRequest,
    refusal: GatewayError,
    signed: VerifiedSignature | None,
    message: CanonicalMessage | None,
) -> None:
    gw.metrics.refused.labels(refusal.slug).inc()
    fields: dict[str, Any] = {
        "message_id": message.message_id if message is not None else None,
        "sender": signed.participant if signed is not None else None,
        "keyid": signed.keyid if signed is not None else None,
        "status": refusal.status,
        "check": refusal.slug,
        "field": refusal.field,
        "body_sha256": hashlib.sha256(req.body).hexdigest() if req.body else None,
        "path": req.path,
    }
    ingress_log.info("request-refused", extra={"fields": fields})


def delivery_attempt(**fields: Any) -> None:
    """One line per attempt: ids, the recipient, the status or error, the outcome."""
    delivery_log.info("delivery-attempt", extra={"fields": fields})
