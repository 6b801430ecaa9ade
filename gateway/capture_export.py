"""A replay capture from the database (`gateway audit export --capture`, docs/replay.md).

Walks the audit log in order; every "received" or "refused" event with a request record
beside it (storage `requests`, migration 0002) becomes one capture line, with the outcome
the gateway gave: the receipt's routing, or the refusal's check, plus the translations
(digests, loss reports, bodies while kept) and how their deliveries went.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import orjson

from gateway.audit.events import MalformedLeafError, event_from_leaf
from gateway.capture import (
    FORMAT,
    VERSION,
    CapturedKey,
    CapturedParticipant,
    CapturedRequest,
    CaptureHeader,
    DeliveryResult,
    GatewayIdentity,
    Outcome,
    RecipientResult,
    Translation,
    TranslationLoss,
)
from gateway.config import GatewayConfig
from gateway.storage.base import Storage, StoredEvent, StoredRequest

__all__ = ["ExportTally", "capture_header", "captured_participants", "export_requests"]

CHUNK = 2000
_LIMITS_KEPT = ("max_body_bytes", "clock_skew_seconds")


@dataclass(slots=True)
class ExportTally:
    """What the export could not include, for the command's summary."""

    requests: int = 0
    erased: list[str] = field(default_factory=list)  # body digests no longer kept
    without_request: int = 0  # events older than the request records (migration 0002)


def captured_participants(cfg: GatewayConfig) -> list[CapturedParticipant]:
    out: list[CapturedParticipant] = []
    for p in cfg.participants.values():
        keys = [
            CapturedKey(
                keyid=k.keyid,
                public_key_b64=base64.b64encode(k.public_key).decode("ascii"),
                not_before=k.not_before,
                not_after=k.not_after,
                revoked=k.revoked,
            )
            for k in (cfg.keys[kid] for kid in p.keys)
        ]
        audience = ["ALL"] if p.audience_all else sorted(p.audience) or None
        out.append(
            CapturedParticipant.model_validate(
                {
                    "id": p.id,
                    "name": p.name,
                    "schema": p.schema_,
                    "kind": p.kind.value,
                    "country": p.country,
                    "endpoint": p.endpoint,
                    "may_send": list(p.may_send),
                    "audience": audience,
                    "keys": keys,
                }
            )
        )
    return out


def capture_header(
    cfg: GatewayConfig,
    identity: GatewayIdentity,
    *,
    source: str,
    requests: int,
    erased: list[str],
    created_at: dt.datetime,
) -> CaptureHeader:
    limits = cfg.settings.limits
    return CaptureHeader(
        format=FORMAT,
        version=VERSION,
        created_at=created_at,
        source=source,
        gateway=identity,
        participants=captured_participants(cfg),
        routing_toml=(cfg.directory / "routing.toml").read_text("utf-8"),
        rules_digest=cfg.rules_digest,
        limits={name: getattr(limits, name) for name in _LIMITS_KEPT},
        requests=requests,
        erased_bodies=sorted(set(erased)),
    )


async def export_requests(
    storage: Storage,
    *,
    upto: int,
    tally: ExportTally,
    progress: Callable[[int], None] = lambda _done: None,
) -> AsyncIterator[CapturedRequest]:
    """One CapturedRequest per recorded inbound request among events [0, upto)."""
    for start in range(0, upto, CHUNK):
        end = min(start + CHUNK, upto)
        events = await storage.get_events(start, end)
        requests = await storage.requests_between(start, end)
        for ev in events:
            if ev.kind not in {"received", "refused"}:
                continue
            req = requests.get(ev.index)
            if req is None:
                if ev.kind == "received" or ev.outcome != "rate-limited":
                    tally.without_request += 1
                continue
            captured = await _captured(storage, ev, req, tally.requests + 1, tally)
            if captured is not None:
                tally.requests += 1
                yield captured
        progress(end)


async def _captured(
    storage: Storage, ev: StoredEvent, req: StoredRequest, seq: int, tally: ExportTally
) -> CapturedRequest | None:
    try:
        leaf = event_from_leaf(ev.leaf)
    except MalformedLeafError:
        return None  # `gateway audit verify` names it; a capture cannot use it
    details = dict(leaf.details)
    if ev.kind == "received":
        outcome = await _accepted_outcome(storage, ev, tally)
        verified, keyid = True, str(details.get("keyid", "")) or None
    else:
        outcome = _refused_outcome(ev, details)
        keyid = details.get("keyid")
        verified = isinstance(keyid, str)  # a refusal names the key only once it verified
    body_b64 = None
    digest = req.body_sha256 or ""
    if req.body_sha256 is not None:
        stored = await storage.get_body(req.body_sha256)
        if stored is None or stored.body is None:
            tally.erased.append(req.body_sha256)
        else:
            body_b64 = base64.b64encode(stored.body).decode("ascii")
    return CapturedRequest(
        seq=seq,
        received_at=ev.at,
        method=req.method,
        path=req.path,
        authority=req.authority,
        headers=orjson.loads(req.headers),
        body_sha256=digest,
        body_b64=body_b64,
        signature_verified=verified,
        keyid=keyid if isinstance(keyid, str) else None,
        expected=outcome,
        note=None if body_b64 is not None else "body erased (retention): not replayable",
    )


def _refused_outcome(ev: StoredEvent, details: dict[str, object]) -> Outcome:
    status = details.get("status")
    detail = details.get("detail")
    field_ = details.get("field")
    return Outcome(
        status=status if isinstance(status, int) else 400,
        check=ev.outcome,
        field=field_ if isinstance(field_, str) else None,
        detail=detail if isinstance(detail, str) else None,
        message_id=ev.message_id,
    )


async def _accepted_outcome(storage: Storage, ev: StoredEvent, tally: ExportTally) -> Outcome:
    assert ev.participant is not None and ev.message_id is not None
    message = await storage.find_message(ev.participant, ev.message_id)
    if message is None:  # cannot happen: the row is written with the event
        return Outcome(status=202, message_id=ev.message_id, sender=ev.participant)
    recorded = orjson.loads(message.outcome)
    translations: list[Translation] = []
    deliveries: list[DeliveryResult] = []
    for d in await storage.deliveries_of_message(message.message_id):
        if d.sender != message.sender:
            continue
        stored = await storage.get_body(d.body_sha256)
        body = None if stored is None else stored.body
        if body is None:
            tally.erased.append(d.body_sha256)
        translations.append(
            Translation(
                recipient=d.recipient,
                media_type=d.media_type,
                body_sha256=d.body_sha256,
                losses=[TranslationLoss.model_validate(x) for x in orjson.loads(d.losses)],
                body_b64=None if body is None else base64.b64encode(body).decode("ascii"),
            )
        )
        deliveries.append(
            DeliveryResult(
                recipient=d.recipient,
                state=d.state.value,
                attempts=d.attempts,
                last_status=d.last_status,
            )
        )
    return Outcome(
        status=202,
        message_id=message.message_id,
        sender=message.sender,
        routing=recorded["routing"],
        rules_digest=recorded["rules_digest"],
        recipients=[recipient_result(r) for r in recorded["recipients"]],
        translations=sorted(translations, key=lambda t: t.recipient),
        deliveries=sorted(deliveries, key=lambda x: x.recipient),
    )


def recipient_result(raw: dict[str, object]) -> RecipientResult:
    """A receipt's recipient entry without what differs on every run (delivery_id)."""
    losses = raw.get("losses", 0)
    return RecipientResult(
        participant=str(raw["participant"]),
        outcome=str(raw["outcome"]),
        reason=str(raw["reason"]),
        detail=str(raw.get("detail", "")),
        losses=losses if isinstance(losses, int) else 0,
    )
