"""POST /v1/messages as plain functions: verify → decode → route → encode → record → receipt.

Everything before `record` is pure (it reads storage only to look things up: nonce,
idempotency, the notice's known identifiers and earlier recipients). `record` is one
durable transaction; the 202 is built only after it returns. Every refusal is audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson

from adapters import (
    Adapter,
    MalformedMessage,
    SchemaViolations,
    TranslationRefused,
    UnknownSchema,
    adapter_for_media_type,
    adapter_for_schema,
    translate,
)
from adapters.translate import outbound_message
from gateway import observe
from gateway.audit.events import AuditEvent, EventKind, leaf_bytes
from gateway.capture import request_row
from gateway.config import GatewayConfig
from gateway.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    GatewayError,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    Unprocessable,
    UnsupportedMediaType,
)
from gateway.randomness import random_uuid
from gateway.ratelimit import Slot, too_many
from gateway.routing import RoutingDecision, facts_from_message, route
from gateway.runtime import Gateway
from gateway.signatures import VerifiedSignature, verify_request
from gateway.storage.base import (
    BodyRow,
    DuplicateMessage,
    EventRow,
    IngressFacts,
    MessageRow,
    NewDelivery,
    NonceReplayed,
    NonceRow,
    ReferenceRow,
    RequestRow,
    StorageUnavailable,
    StoredMessage,
    Transaction,
)
from schemas.canonical import CanonicalMessage, Loss, MessageKind, Notice

DELIVERY_ID_NAMESPACE = uuid.UUID("5b0e7f3e-1f1d-4b0a-9d53-3c2b9f0e6a10")


@dataclass(frozen=True, slots=True)
class InboundRequest:
    method: str
    authority: str
    path: str
    headers: Mapping[str, str]  # lower-case names; repeated fields joined with ", "
    body: bytes
    received_at: dt.datetime


@dataclass(frozen=True, slots=True)
class RecipientOutcome:
    participant: str
    outcome: str  # "routed" | "refused"
    reason: str  # the rule or caveat that decided, or the translation refusal
    detail: str
    delivery_id: str | None = None
    losses: int = 0

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "participant": self.participant,
            "outcome": self.outcome,
            "reason": self.reason,
            "detail": self.detail,
        }
        if self.delivery_id is not None:
            out["delivery_id"] = self.delivery_id
            out["losses"] = self.losses
        return out


@dataclass(frozen=True, slots=True)
class Receipt:
    body: bytes  # JSON, signed by the caller (gateway.app) with the gateway key


@dataclass(frozen=True, slots=True)
class _Translation:
    recipient: str
    schema: str
    media_type: str
    body: bytes
    losses: tuple[Loss, ...]
    delivered_message_id: str


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- the steps -----------------------------------------------------------------------------


def check_size(body_length: int, config: GatewayConfig) -> None:
    from gateway.errors import PayloadTooLarge

    limit = config.settings.limits.max_body_bytes
    if body_length > limit:
        raise PayloadTooLarge(
            "body-too-large", f"the body is {body_length} bytes; the limit is {limit} bytes"
        )


def select_adapter(content_type: str | None) -> Adapter:
    if not content_type:
        raise UnsupportedMediaType(
            "content-type-missing",
            "send Content-Type application/vnd.interpol.notice+json or "
            "application/vnd.gccpol.alert+xml",
        )
    try:
        return adapter_for_media_type(content_type)
    except UnknownSchema:
        raise UnsupportedMediaType(
            "content-type-unknown",
            f"content type {content_type!r} names no schema this gateway speaks; "
            "use application/vnd.interpol.notice+json or application/vnd.gccpol.alert+xml",
        ) from None


def verify(req: InboundRequest, config: GatewayConfig, now: int) -> VerifiedSignature:
    return verify_request(
        method=req.method,
        authority=req.authority,
        path=req.path,
        headers=req.headers,
        body=req.body,
        expected_authority=config.settings.gateway.public_authority,
        now=now,
        window_seconds=config.settings.limits.clock_skew_seconds,
        resolve_key=config.keys.get,
    )


def decode(adapter: Adapter, body: bytes) -> CanonicalMessage:
    try:
        return adapter.decode(body)
    except MalformedMessage as exc:
        raise BadRequest("body-malformed", exc.reason, field=exc.path) from exc
    except SchemaViolations as exc:
        raise Unprocessable(
            "schema-violation",
            f"the {adapter.schema} message violates its schema: {exc}",
            field=exc.violations[0].path,
            extra={"violations": [{"path": v.path, "reason": v.reason} for v in exc.violations]},
        ) from exc


def check_sender(
    message: CanonicalMessage, signed: VerifiedSignature, adapter: Adapter, config: GatewayConfig
) -> None:
    if message.sender != signed.participant:
        raise Unauthorized(
            "sender-not-signer",
            f"the message names sender {message.sender!r} but was signed with key "
            f"{signed.keyid!r} of participant {signed.participant!r}",
            field="sender",
        )
    participant = config.participants[signed.participant]
    if participant.schema_ != adapter.schema:
        raise UnsupportedMediaType(
            "content-type-not-senders-schema",
            f"participant {participant.id!r} speaks the {participant.schema_} schema; "
            f"this body is {adapter.media_type}",
        )
    kind = wire_kind(message.kind, adapter.schema)
    if kind not in participant.may_send:
        raise Forbidden(
            "kind-not-allowed",
            f"participant {participant.id!r} may not send {kind} "
            f"(may_send: {', '.join(participant.may_send) or 'nothing'})",
            field="message_type",
        )


def wire_kind(kind: MessageKind, schema: str) -> str:
    """The message kind in the sender's words, as config.md's may_send lists it."""
    if schema == "gccpol":
        return {"publish": "NEW", "update": "AMEND", "cancel": "WITHDRAW"}[kind.value]
    return f"notice.{kind.value}"


def notice_reference(message: CanonicalMessage, adapter: Adapter) -> str:
    ref = message.notice.reference(adapter.reference_system)
    if ref is None:  # the decoders require it; defence in depth
        raise Unprocessable(
            "schema-violation", f"the notice has no {adapter.reference_system} identifier"
        )
    return ref


def delivered_message_id(sender: str, message_id: str, recipient: str) -> str:
    """Stable per (origin message, recipient): redeliveries carry the same id."""
    return str(uuid.uuid5(DELIVERY_ID_NAMESPACE, f"{sender}\n{message_id}\n{recipient}"))


def translate_for(
    message: CanonicalMessage,
    notice: Notice,
    recipients: Sequence[str],
    config: GatewayConfig,
    sent_at: dt.datetime,
) -> dict[str, _Translation | TranslationRefused]:
    """Each recipient's translation, or why it cannot have one. Recipients that share a
    schema get the same translation under their own delivered message id, so it is made
    once per schema (`Adapter.encode_each`; docs/performance.md)."""
    by_schema: dict[str, list[str]] = {}
    for recipient in recipients:
        by_schema.setdefault(config.participants[recipient].schema_, []).append(recipient)
    out: dict[str, _Translation | TranslationRefused] = {}
    for schema, group in by_schema.items():
        target = adapter_for_schema(schema)
        ids = [delivered_message_id(message.sender, message.message_id, r) for r in group]
        outbound = outbound_message(
            message, notice, message_id=ids[0], sender=config.settings.gateway.id, sent_at=sent_at
        )
        try:
            encoded = target.encode_each(outbound, ids)
        except TranslationRefused as exc:
            out.update(dict.fromkeys(group, exc))
            continue
        for recipient, msg_id, one in zip(group, ids, encoded, strict=True):
            out[recipient] = _Translation(
                recipient=recipient,
                schema=target.schema,
                media_type=target.media_type,
                body=one.body,
                losses=one.losses,
                delivered_message_id=msg_id,
            )
    return out


def with_references(notice: Notice, known: Mapping[str, str], config: GatewayConfig) -> Notice:
    """The notice carrying every side's identifier: known ones, else freshly minted for
    each schema a participant uses (adapters.translate.with_references)."""
    schemas = {p.schema_ for p in config.participants.values()}
    return translate.with_references(notice, known, schemas)


def event(
    kind: EventKind,
    at: dt.datetime,
    *,
    actor_type: str,
    actor: str,
    message_id: str | None,
    outcome: str,
    bodies: Mapping[str, str] | None = None,
    details: Mapping[str, object] | None = None,
    participant: str | None = None,
) -> EventRow:
    ev = AuditEvent(
        kind=kind,
        at=at,
        actor={"type": actor_type, "id": actor},
        message_id=message_id,
        outcome=outcome,
        body_sha256=dict(bodies or {}),
        details=dict(details or {}),
    )
    return EventRow(
        leaf=leaf_bytes(ev),
        kind=kind.value,
        at=at,
        message_id=message_id,
        participant=participant if participant is not None else actor,
        outcome=outcome,
    )


def receipt_body(stored: StoredMessage) -> bytes:
    outcome = orjson.loads(stored.outcome)
    return orjson.dumps(
        {
            "message_id": stored.message_id,
            "sender": stored.sender,
            "body_sha256": stored.body_sha256,
            "received_at": stored.received_at.isoformat().replace("+00:00", "Z"),
            "audit_index": stored.received_index,
            "routing": outcome["routing"],
            "rules_digest": outcome["rules_digest"],
            "recipients": outcome["recipients"],
        }
    )


# ---- the whole step ------------------------------------------------------------------------


async def accept_message(gw: Gateway, req: InboundRequest) -> Receipt:
    """Accept one message or raise the GatewayError that refuses it (already audited)."""
    config = gw.config
    signed: VerifiedSignature | None = None
    message: CanonicalMessage | None = None
    slot: Slot | None = None
    try:
        check_size(len(req.body), config)
        adapter = select_adapter(req.headers.get("content-type"))
        signed = verify(req, config, int(req.received_at.timestamp()))
        if await gw.storage.nonce_seen(signed.keyid, signed.nonce):
            raise Unauthorized(
                "signature-replayed",
                f"nonce {signed.nonce!r} of key {signed.keyid!r} was already used; "
                "sign every request with a fresh nonce",
            )
        # Charged only once the signature (and its freshness) proved the sender: a forged
        # or replayed flood cannot spend a real sender's budget (docs/security.md).
        slot = gw.limiter.admit(signed.participant)
        message = decode(adapter, req.body)
        check_sender(message, signed, adapter, config)
        # Every read the message needs, in one hand-off to storage (docs/performance.md).
        system = adapter.reference_system
        ref = notice_reference(message, adapter)
        facts = await gw.storage.ingress_facts(
            message.sender,
            message.message_id,
            system,
            ref,
            default_key=f"{system}:{ref}",
            recipients=message.kind is not MessageKind.PUBLISH,
        )
        existing = facts.existing
        if existing is not None:
            receipt = _repeat(existing, req.body)
        else:
            ctx = _Context(gw, config, req, adapter, signed, message)
            receipt = await _route_and_record(ctx, facts)
        observe.accepted(
            gw, message, adapter.schema, signed, receipt.body, repeat=existing is not None
        )
        return receipt
    except GatewayError as refusal:
        limited = None if slot is not None else unauthenticated_refusal(gw, refusal)
        if limited is not None:
            await _audit_refusal(gw, req, limited, signed, message)
            observe.refused(gw, req, limited, signed, message)
            raise limited from refusal
        await _audit_refusal(gw, req, refusal, signed, message)
        observe.refused(gw, req, refusal, signed, message)
        raise
    finally:
        if slot is not None:
            slot.release()


async def refuse_early(gw: Gateway, req: InboundRequest, refusal: GatewayError) -> GatewayError:
    """Audit a refusal made before the pipeline ran (body or header fields too large to
    read); returns what to answer, a 429 once unauthenticated requests are over budget."""
    answer = unauthenticated_refusal(gw, refusal) or refusal
    await _audit_refusal(gw, req, answer, None, None)
    observe.refused(gw, req, answer, None, None)
    return answer


def unauthenticated_refusal(gw: Gateway, refusal: GatewayError) -> GatewayError | None:
    """A refusal before the sender was proven charges the shared unauthenticated bucket;
    once that is empty the answer is a 429 (returned) instead (gateway.ratelimit)."""
    if isinstance(refusal, TooManyRequests | Unavailable):
        return None  # the sender's own limit, or storage down: nothing to charge
    wait = gw.limiter.charge_unauthenticated()
    if wait <= 0:
        return None
    limited = too_many("requests that do not authenticate are over the gateway's limit", wait)
    limited.extra["refused_check"] = refusal.slug
    return limited


def _repeat(existing: StoredMessage, body: bytes) -> Receipt:
    if existing.body_sha256 != sha256_hex(body):
        raise Conflict(
            "message-id-reused",
            f"message id {existing.message_id!r} was already accepted from "
            f"{existing.sender!r} with other bytes (SHA-256 {existing.body_sha256}); "
            "a new message needs a new id",
            field="message_id",
        )
    return Receipt(body=receipt_body(existing))


@dataclass(frozen=True, slots=True)
class _Context:
    """What the steps after verification share about one accepted request."""

    gw: Gateway
    config: GatewayConfig
    req: InboundRequest
    adapter: Adapter
    signed: VerifiedSignature
    message: CanonicalMessage


async def _route_and_record(ctx: _Context, facts: IngressFacts) -> Receipt:
    config, req, message = ctx.config, ctx.req, ctx.message
    now = req.received_at
    notice_key, known = facts.notice_key, facts.references
    decision = route(facts_from_message(message), config, previous_recipients=facts.recipients)
    notice = with_references(message.notice, known, config)

    outcomes: list[RecipientOutcome] = []
    translations: list[_Translation] = []
    routed = [item.participant for item in decision.outcomes if item.outcome == "routed"]
    translated = translate_for(message, notice, routed, config, now)
    for item in decision.outcomes:
        if item.outcome != "routed":
            outcomes.append(RecipientOutcome(item.participant, "refused", item.reason, item.detail))
            continue
        tr = translated[item.participant]
        if isinstance(tr, TranslationRefused):
            outcomes.append(
                RecipientOutcome(
                    item.participant,
                    "refused",
                    f"translation:{tr.code}",
                    f"{tr.field}: {tr.reason}",
                )
            )
            continue
        delivery_id = str(random_uuid())
        translations.append(tr)
        outcomes.append(
            RecipientOutcome(
                item.participant,
                "routed",
                item.reason,
                item.detail,
                delivery_id=delivery_id,
                losses=len(tr.losses),
            )
        )

    return await _record(
        ctx,
        notice=notice,
        notice_key=notice_key,
        known=known,
        decision=decision,
        outcomes=outcomes,
        translations=translations,
    )


async def _record(
    ctx: _Context,
    *,
    notice: Notice,
    notice_key: str,
    known: Mapping[str, str],
    decision: RoutingDecision,
    outcomes: list[RecipientOutcome],
    translations: list[_Translation],
) -> Receipt:
    gw, config, req, adapter = ctx.gw, ctx.config, ctx.req, ctx.adapter
    signed, message = ctx.signed, ctx.message
    now = req.received_at
    body_sha = sha256_hex(req.body)
    sender = message.sender
    mid = message.message_id
    routed_any = any(o.outcome == "routed" for o in outcomes)
    routing = "routed" if routed_any else ("unrouted" if decision.unrouted else "refused")

    tx = Transaction()
    tx.nonce = NonceRow(
        keyid=signed.keyid,
        nonce=signed.nonce,
        expires_at=now + dt.timedelta(seconds=2 * config.settings.limits.clock_skew_seconds + 60),
    )
    tx.bodies.append(BodyRow(sha256=body_sha, body=req.body, media_type=adapter.media_type))
    tx.events.append(
        event(
            EventKind.RECEIVED,
            now,
            actor_type="participant",
            actor=sender,
            message_id=mid,
            outcome="accepted",
            bodies={"received": body_sha},
            details={
                "kind": message.kind.value,
                "schema": adapter.schema,
                "keyid": signed.keyid,
                "nonce": signed.nonce,
                "signature": signed.signature_b64,
                "notice_key": notice_key,
            },
        )
    )
    by_recipient = {o.participant: o for o in outcomes}
    for tr in translations:
        tsha = sha256_hex(tr.body)
        losses_json = orjson.dumps([loss.model_dump() for loss in tr.losses])
        tx.bodies.append(BodyRow(sha256=tsha, body=tr.body, media_type=tr.media_type))
        tx.events.append(
            event(
                EventKind.TRANSLATED,
                now,
                actor_type="gateway",
                actor=config.settings.gateway.id,
                message_id=mid,
                outcome="translated",
                bodies={"source": body_sha, "translation": tsha},
                details={
                    "recipient": tr.recipient,
                    "schema": tr.schema,
                    "losses": len(tr.losses),
                    "loss_report_sha256": sha256_hex(losses_json),
                    "delivered_message_id": tr.delivered_message_id,
                },
                participant=tr.recipient,
            )
        )
        delivery_id = by_recipient[tr.recipient].delivery_id
        assert delivery_id is not None
        tx.deliveries.append(
            NewDelivery(
                delivery_id=delivery_id,
                message_id=mid,
                sender=sender,
                recipient=tr.recipient,
                notice_key=notice_key,
                kind=message.kind.value,
                body_sha256=tsha,
                media_type=tr.media_type,
                delivered_message_id=tr.delivered_message_id,
                next_attempt_at=now,
                losses=losses_json,
            )
        )
    recipients_json = [o.as_json() for o in outcomes]
    tx.events.append(
        event(
            EventKind.ROUTED,
            now,
            actor_type="gateway",
            actor=config.settings.gateway.id,
            message_id=mid,
            outcome=routing,
            bodies={"received": body_sha},
            details={
                "rules_digest": config.rules_digest,
                "recipients": recipients_json,
            },
            participant=sender,
        )
    )
    outcome_json = orjson.dumps(
        {"routing": routing, "rules_digest": config.rules_digest, "recipients": recipients_json}
    )
    tx.message = MessageRow(
        sender=sender,
        message_id=mid,
        body_sha256=body_sha,
        kind=message.kind.value,
        notice_key=notice_key,
        received_at=now,
        outcome=outcome_json,
        received_event_pos=0,
        keyid=signed.keyid,
        signature=signed.signature_b64,
    )
    # A reference `known` holds is already stored under this notice key: not written again.
    tx.references.extend(
        ReferenceRow(notice_key=notice_key, system=r.system, reference=r.id)
        for r in notice.references
        if known.get(r.system) != r.id
    )
    tx.request = _request_row(req, body_sha)  # beside the "received" event (docs/replay.md)
    try:
        result = await gw.storage.commit(tx)
    except NonceReplayed as exc:
        raise Unauthorized(
            "signature-replayed",
            f"nonce {exc.nonce!r} of key {exc.keyid!r} was already used; "
            "sign every request with a fresh nonce",
        ) from exc
    except DuplicateMessage as exc:  # a concurrent twin won the race
        return _repeat(exc.existing, req.body)
    except StorageUnavailable as exc:
        raise Unavailable(
            "storage-unavailable",
            "the gateway cannot record messages durably right now; nothing was recorded, "
            "retry later with a fresh signature",
            headers={"Retry-After": "5"},
        ) from exc
    gw.after_commit(delivered=bool(translations))
    stored = StoredMessage(
        sender=sender,
        message_id=mid,
        body_sha256=body_sha,
        kind=message.kind.value,
        notice_key=notice_key,
        received_at=now,
        outcome=outcome_json,
        received_index=result.event_indices[0],
        keyid=signed.keyid,
        signature=signed.signature_b64,
    )
    return Receipt(body=receipt_body(stored))


async def _audit_refusal(
    gw: Gateway,
    req: InboundRequest,
    refusal: GatewayError,
    signed: VerifiedSignature | None,
    message: CanonicalMessage | None,
) -> None:
    if isinstance(refusal, Unavailable):
        return  # storage is down: there is nowhere to write the event
    participant = signed.participant if signed is not None else None
    details: dict[str, object] = {
        "check": refusal.slug,
        "status": refusal.status,
        "detail": refusal.detail,
        "path": req.path,
    }
    if refusal.field is not None:
        details["field"] = refusal.field
    if signed is not None:
        details["keyid"] = signed.keyid
    row = event(
        EventKind.REFUSED,
        req.received_at,
        actor_type="participant",
        actor=participant or "unknown",
        message_id=message.message_id if message is not None else None,
        outcome=refusal.slug,
        bodies={"received": sha256_hex(req.body)} if req.body else {},
        details=details,
        participant=participant,
    )
    tx = Transaction(events=[row])
    if refusal.status in REPLAYABLE_REFUSALS and len(req.body) <= REFUSED_BODY_KEEP_BYTES:
        # Kept so a capture can replay the refusal (docs/replay.md); the same retention
        # (`gateway audit erase`) applies as to accepted bodies.
        body_sha = sha256_hex(req.body)
        media_type = (req.headers.get("content-type") or "application/octet-stream")[:200]
        tx.bodies.append(BodyRow(sha256=body_sha, body=req.body, media_type=media_type))
        tx.request = _request_row(req, body_sha)
    try:
        await gw.storage.commit(tx)
    except StorageUnavailable:
        gw.log_event("audit-refusal-not-recorded", slug=refusal.slug)


# docs/replay.md: a refused request is kept for replay when its refusal is the gateway's
# decision about the request itself (not load: 429/503, nor an unread body: 413/431), and
# its body is small; an unauthenticated flood is bounded by its own budget (ratelimit).
REPLAYABLE_REFUSALS = frozenset({400, 401, 403, 409, 415, 422})
REFUSED_BODY_KEEP_BYTES = 256 * 1024


def _request_row(req: InboundRequest, body_sha256: str) -> RequestRow:
    return request_row(
        event_pos=0,
        method=req.method,
        authority=req.authority,
        path=req.path,
        headers=req.headers,
        body_sha256=body_sha256,
    )
