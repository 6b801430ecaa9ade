"""Reliable delivery: the worker that signs, POSTs, retries and dead-letters queued deliveries.

One attempt, start to end (docs/delivery.md):

    claim (lease)  →  breaker open?  → postpone, no attempt spent
                   →  body + origin message → provenance block (adapters.provenance)
                   →  RFC 9421 signature with the gateway key → POST to the recipient
                   →  ONE storage commit: attempt row, audit events, new state
                        2xx                     delivered (a signed answer is verified, kept)
                        network, 5xx, 408, 429  pending again at backoff / Retry-After,
                                                or dead once attempts / age are spent
                        other 4xx, 3xx          dead at once, the answer kept

At-least-once: a crash between the POST and the commit leaves the lease to expire and the
attempt is made again under the same delivered message id, which recipients deduplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import hashlib
import logging
import os
import random
import secrets
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx
import orjson

from adapters.provenance import attach_provenance
from gateway import crypto, observe
from gateway.audit.events import AuditEvent, EventKind, format_time, leaf_bytes
from gateway.backoff import (
    CircuitBreaker,
    Delivered,
    Retry,
    Stop,
    classify,
    compute_backoff,
    retry_after_seconds,
    should_dead_letter,
)
from gateway.config import GatewayConfig
from gateway.errors import Conflict, GatewayError, NotFound
from gateway.keys import KeyID, KeyRecord
from gateway.outbound import Answer, Lanes, post
from gateway.randomness import random_nonce
from gateway.signatures import sign_request, verify_response
from gateway.storage.base import (
    AttemptRow,
    BodyRow,
    Delivery,
    DeliveryState,
    DeliveryUpdate,
    EventFilter,
    EventRow,
    Storage,
    StorageError,
    Transaction,
)
from schemas.canonical import Loss, Provenance

__all__ = [
    "DeliveryPolicy",
    "DeliveryWorker",
    "Requeue",
    "redeliver",
    "retry_dead_letter",
]

log = logging.getLogger("gateway.delivery")

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How the worker behaves; attempts, age, backoff and timeout come from [delivery]."""

    concurrency: int = 32  # attempts in flight at once, all recipients together
    per_recipient: int = 8  # attempts in flight to one recipient: a slow one holds few slots
    # Connections per httpx transport (pool): a recipient's slots are spread over pools of
    # at most this many, because httpcore walks a whole pool at every request and answer
    # (gateway/outbound.py; docs/performance.md, Delivery).
    pool_connections: int = 8
    lease: dt.timedelta = dt.timedelta(seconds=120)  # > the longest attempt, or a twin may start
    backoff_factor: float = 2.0
    breaker_threshold: int = 5  # consecutive failed attempts that open a recipient's breaker
    breaker_cooldown: float = 30.0  # seconds an open breaker waits before one probe
    probe_wait: float = 1.0  # seconds deliveries wait while a half-open probe is in flight
    answer_limit: int = 65_536  # bytes of a recipient's answer read and kept
    idle_poll: float = 30.0  # longest sleep without a kick (another worker may have queued)
    storage_retry: float = 1.0  # pause after the database failed, before claiming again

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.per_recipient < 1 or self.pool_connections < 1:
            raise ValueError(
                "delivery policy: concurrency, per_recipient and pool_connections must be >= 1"
            )


@dataclass(frozen=True, slots=True)
class _Outcome:
    state: DeliveryState
    next_at: dt.datetime | None
    kind: EventKind  # the outcome event after delivery_attempted
    event_outcome: str
    label: str  # delivered | retry | dead (metrics)
    reason: str | None = None
    breaker_failure: bool = False


@dataclass(frozen=True, slots=True)
class _Receipt:
    """What the worker made of a recipient's signed answer (signatures.md, Receipts)."""

    status: str  # "verified" | "invalid" | "unsigned"
    detail: Mapping[str, object]
    signature: str | None  # the verified Signature field value


class DeliveryWorker:
    """Delivers queued deliveries until stopped. ``config`` is read at each attempt, so a
    reload (new endpoint, new recipient key) applies to the next attempt."""

    def __init__(
        self,
        storage: Storage,
        config: Callable[[], GatewayConfig],
        *,
        key: crypto.PrivateKey,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock,
        policy: DeliveryPolicy | None = None,
        worker_id: str | None = None,
        rng: random.Random | None = None,
        on_outcome: Callable[[str], None] | None = None,
    ) -> None:
        self.storage = storage
        self.config = config
        self.key = key
        self.clock = clock
        self.policy = policy or DeliveryPolicy()
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._rng = rng or random.Random(secrets.randbits(64))
        self._on_outcome = on_outcome
        # Straight to recipients, never through a proxy named in the environment.
        self._lanes = Lanes(
            per_recipient=self.policy.per_recipient,
            pool_connections=self.policy.pool_connections,
            transport=transport,
        )
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._breakers: dict[str, CircuitBreaker] = {}

    # ---- lifecycle --------------------------------------------------------------------------

    def kick(self) -> None:
        """New work was committed: look at the queue now instead of at the next due time."""
        self._wake.set()

    def start(self) -> None:
        if self._loop_task is None:
            self._stopping = False
            self._loop_task = asyncio.create_task(self._run(), name="delivery-worker")

    async def stop(self) -> None:
        """Stop claiming; let the attempts in flight finish and record their outcome."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
            self._loop_task = None
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        await self._lanes.aclose()

    def breaker(self, recipient: str) -> CircuitBreaker:
        found = self._breakers.get(recipient)
        if found is None:
            found = CircuitBreaker(
                failure_threshold=self.policy.breaker_threshold,
                cooldown=self.policy.breaker_cooldown,
                clock=lambda: self.clock().timestamp(),
            )
            self._breakers[recipient] = found
        return found

    async def run_once(self) -> int:
        """Claim what is due now, attempt it and wait for the outcomes (tests, tools)."""
        started = await self._claim_and_dispatch()
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        return started

    # ---- the loop ----------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                free = self.policy.concurrency - len(self._inflight)
                claimed = await self._claim_and_dispatch() if free > 0 else 0
                if free > 0 and claimed == free:
                    continue  # a full batch: there may be more due already
                delay = await self._idle_delay(free > 0 and claimed < free)
            except StorageError as exc:
                log.warning("delivery: storage failed, pausing: %s", exc)
                delay = self.policy.storage_retry
            await self._sleep(delay)

    async def _sleep(self, seconds: float) -> None:
        if self._stopping or seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):  # not wait_for: see Sequencer.stop
                await self._wake.wait()

    async def _idle_delay(self, may_claim: bool) -> float:
        if not may_claim:
            return self.policy.idle_poll  # every slot busy: a finishing attempt wakes us
        due = await self.storage.next_due()
        if due is None:
            return self.policy.idle_poll
        # A short floor: a row due but not claimable (a lease ending this instant) must not spin.
        return min(self.policy.idle_poll, max(0.005, (due - self.clock()).total_seconds()))

    async def _claim_and_dispatch(self) -> int:
        free = self.policy.concurrency - len(self._inflight)
        if free <= 0:
            return 0
        now = self.clock()
        claimed = await self.storage.claim_deliveries(now, free, self.worker_id, self.policy.lease)
        postponed: list[DeliveryUpdate] = []
        for delivery in claimed:
            breaker = self.breaker(delivery.recipient)
            if breaker.allow():
                task = asyncio.create_task(self._attempt_guarded(delivery))
                self._inflight.add(task)
                task.add_done_callback(self._finished)
            else:
                postponed.append(_postpone(delivery, self._resume_at(breaker, now)))
        if postponed:
            # An open breaker spends no attempt: the delivery only waits (docs/delivery.md).
            await self.storage.commit(Transaction(delivery_updates=postponed))
        return len(claimed)

    def _resume_at(self, breaker: CircuitBreaker, now: dt.datetime) -> dt.datetime:
        at = breaker.retry_at()
        resume = now if at is None else dt.datetime.fromtimestamp(at, dt.UTC)
        return max(resume, now + dt.timedelta(seconds=self.policy.probe_wait))

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()

    async def _attempt_guarded(self, delivery: Delivery) -> None:
        try:
            async with self._lanes.slot(delivery.recipient) as transport:
                await self._attempt(delivery, transport)
        except Exception:
            # The lease runs out and the delivery is claimed again: nothing is lost.
            log.exception("delivery: attempt of %s not recorded", delivery.delivery_id)

    # ---- one attempt ---------------------------------------------------------------------------

    async def _attempt(self, delivery: Delivery, transport: httpx.AsyncBaseTransport) -> None:
        cfg = self.config()
        recipient = cfg.participants.get(delivery.recipient)
        if recipient is None:
            await self._dead_without_attempt(
                delivery, cfg, f"recipient {delivery.recipient!r} is not in the configuration"
            )
            return
        stored = await self.storage.get_body(delivery.body_sha256)
        origin = await self.storage.find_message(delivery.sender, delivery.message_id)
        if stored is None or stored.body is None or origin is None:
            what = "origin message" if origin is None else "translated body"
            await self._dead_without_attempt(
                delivery, cfg, f"the {what} is no longer stored (erased or missing)"
            )
            return
        provenance = Provenance(
            origin=origin.sender,
            origin_message_id=origin.message_id,
            body_sha256=origin.body_sha256,
            keyid=origin.keyid,
            signature=origin.signature,
            audit_index=origin.received_index,
            losses=_losses(delivery.losses),
        )
        wire = attach_provenance(delivery.media_type, stored.body, provenance)
        ordinal, round_start = await self._budget(delivery)
        at = self.clock()
        answer = await self._post(transport, recipient.endpoint, delivery.media_type, wire, cfg, at)
        await self._record(
            delivery,
            cfg=cfg,
            wire=wire,
            answer=answer,
            ordinal=ordinal,
            round_start=round_start,
            at=at,
        )

    async def _budget(self, delivery: Delivery) -> tuple[int, dt.datetime]:
        """The attempt's number and when its round began (the age limit counts from there).

        Attempt rows are never renumbered; ``Delivery.attempts`` counts the current round
        only, because an operator's retry or redelivery starts a new round with a fresh
        budget. The round begins at the latest redelivery_requested event in the audit log,
        or when the delivery was queued (docs/delivery.md)."""
        if delivery.attempts == 0 and delivery.last_status is None and delivery.last_error is None:
            return 1, delivery.created_at  # never attempted, never requeued: no reads
        rows = await self.storage.attempts_of(delivery.delivery_id)
        ordinal = max((r.attempt for r in rows), default=0) + 1
        requeues = await self.storage.search_events(
            EventFilter(
                message_id=delivery.message_id,
                participant=delivery.recipient,
                kind=EventKind.REDELIVERY_REQUESTED.value,
            ),
            limit=1,
        )
        start = delivery.created_at
        if requeues and requeues[0].at > start:
            start = requeues[0].at
        return ordinal, start

    async def _post(  # noqa: PLR0917
        self,
        transport: httpx.AsyncBaseTransport,
        endpoint: str,
        media_type: str,
        wire: bytes,
        cfg: GatewayConfig,
        at: dt.datetime,
    ) -> Answer:
        url, authority, target = _parse_endpoint(endpoint)
        headers = {"content-type": media_type}
        headers.update(
            sign_request(
                "POST",
                authority,
                target,
                headers,
                wire,
                key=self.key,
                keyid=cfg.settings.gateway.signing_keyid,
                created=int(at.timestamp()),
                nonce=random_nonce(16),
            )
        )
        return await post(
            transport,
            url,
            list(headers.items()),
            wire,
            timeout_seconds=cfg.settings.delivery.timeout_seconds,
            answer_limit=self.policy.answer_limit,
        )

    async def _record(
        self,
        delivery: Delivery,
        *,
        cfg: GatewayConfig,
        wire: bytes,
        answer: Answer,
        ordinal: int,
        round_start: dt.datetime,
        at: dt.datetime,
    ) -> None:
        now = self.clock()
        decision = classify(answer.status)
        breaker = self.breaker(delivery.recipient)
        attempts = delivery.attempts + 1
        receipt = (
            self._check_answer(delivery.recipient, answer, cfg, now)
            if isinstance(decision, Delivered)
            else None
        )
        keep_answer = answer.status is not None and (
            not isinstance(decision, Delivered)
            or (receipt is not None and receipt.status != "unsigned")
        )
        error = answer.error
        if receipt is not None and receipt.status == "invalid":
            error = f"answer signature invalid: {receipt.detail.get('check')}"
        attempt = AttemptRow(
            delivery_id=delivery.delivery_id,
            attempt=ordinal,
            at=at,
            status_code=answer.status,
            error=error,
            duration_ms=answer.duration_ms,
            answer=answer.body if keep_answer else None,
            answer_signature=receipt.signature if receipt is not None else None,
        )
        sent_sha = hashlib.sha256(wire).hexdigest()
        bodies = {"sent": sent_sha}
        if answer.status is not None:
            bodies["answer"] = hashlib.sha256(answer.body).hexdigest()
        details: dict[str, object] = {
            "delivery_id": delivery.delivery_id,
            "recipient": delivery.recipient,
            "delivered_message_id": delivery.delivered_message_id,
            "attempt": ordinal,
            "status": answer.status,
            "error": answer.error,
            "duration_ms": round(answer.duration_ms, 3),
        }
        if receipt is not None:
            details["answer_signature"] = receipt.detail
        result = self._decide(
            decision,
            attempts,
            answer=answer,
            round_start=round_start,
            now=now,
            cfg=cfg,
            receipt=receipt,
        )
        if result.breaker_failure:
            breaker.record_failure()
        else:
            breaker.record_success()  # a 4xx too: the recipient is up, it refused this one
        final = dict(details)
        if result.reason is not None:
            final["reason"] = result.reason
        if result.next_at is not None:
            final["next_attempt_at"] = format_time(result.next_at)
        events = [
            self._event(EventKind.DELIVERY_ATTEMPTED, delivery, cfg, at, "ok", bodies, details),
            self._event(result.kind, delivery, cfg, now, result.event_outcome, bodies, final),
        ]
        state, next_at, outcome = result.state, result.next_at, result.label
        update = DeliveryUpdate(
            delivery_id=delivery.delivery_id,
            state=state,
            attempts=attempts,
            next_attempt_at=next_at,
            last_status=answer.status,
            last_error=error,
            attempt=attempt,
        )
        tx = Transaction(
            events=events,
            bodies=[BodyRow(sent_sha, wire, delivery.media_type)],
            delivery_updates=[update],
        )
        await self.storage.commit(tx)
        observe.delivery_attempt(
            message_id=delivery.message_id,
            delivered_message_id=delivery.delivered_message_id,
            delivery_id=delivery.delivery_id,
            sender=delivery.sender,
            recipient=delivery.recipient,
            attempt=ordinal,
            status=answer.status,
            error=answer.error,
            outcome=outcome,
            state=state.value,
            sent_sha256=sent_sha,
            duration_ms=round(answer.duration_ms, 3),
        )
        if self._on_outcome is not None:
            self._on_outcome(outcome)

    def _decide(
        self,
        decision: Delivered | Retry | Stop,
        attempts: int,
        *,
        answer: Answer,
        round_start: dt.datetime,
        now: dt.datetime,
        cfg: GatewayConfig,
        receipt: _Receipt | None,
    ) -> _Outcome:
        if isinstance(decision, Delivered):
            status = receipt.status if receipt is not None else "ok"
            return _Outcome(DeliveryState.DELIVERED, None, EventKind.DELIVERED, status, "delivered")
        if isinstance(decision, Stop):
            return _Outcome(
                DeliveryState.DEAD,
                None,
                EventKind.DEAD_LETTERED,
                "refused",
                "dead",
                decision.reason,
            )
        settings = cfg.settings.delivery
        if should_dead_letter(
            attempts, round_start, now, settings.max_attempts, settings.max_age_seconds
        ):
            spent = (
                f"{attempts} attempts of {settings.max_attempts}"
                if attempts >= settings.max_attempts
                else f"older than {settings.max_age_seconds} s"
            )
            return _Outcome(
                DeliveryState.DEAD,
                None,
                EventKind.DEAD_LETTERED,
                "exhausted",
                "dead",
                f"{decision.reason}; {spent}",
                breaker_failure=True,
            )
        next_at = self._next_attempt(attempts, answer, round_start, now, cfg)
        return _Outcome(
            DeliveryState.PENDING,
            next_at,
            EventKind.DELIVERY_FAILED,
            "retry",
            "retry",
            decision.reason,
            breaker_failure=True,
        )

    def _next_attempt(
        self,
        attempts: int,
        answer: Answer,
        round_start: dt.datetime,
        now: dt.datetime,
        cfg: GatewayConfig,
    ) -> dt.datetime:
        """Retry-After when the recipient gave one, else full-jitter backoff; never past the
        age limit, so the last attempt happens at the deadline rather than not at all."""
        settings = cfg.settings.delivery
        delay = retry_after_seconds(answer.headers.get("retry-after"), now)
        if delay is None:
            delay = compute_backoff(
                attempts,
                base=settings.backoff_initial_seconds,
                factor=self.policy.backoff_factor,
                cap=settings.backoff_max_seconds,
                jitter=self._rng,
            )
        deadline = round_start + dt.timedelta(seconds=settings.max_age_seconds)
        return max(now, min(now + dt.timedelta(seconds=delay), deadline))

    def _check_answer(
        self, recipient: str, answer: Answer, cfg: GatewayConfig, now: dt.datetime
    ) -> _Receipt:
        """Verify a signed 2xx answer with the recipient's own keys. A bad signature is
        recorded as such; the message was still delivered (docs/delivery.md)."""
        if "signature" not in answer.headers and "signature-input" not in answer.headers:
            return _Receipt("unsigned", {"status": "unsigned"}, None)
        if answer.truncated:
            detail: dict[str, object] = {
                "status": "invalid",
                "check": "answer-too-large",
                "detail": f"answer over {self.policy.answer_limit} bytes; not verified",
            }
            return _Receipt("invalid", detail, None)

        def resolve(keyid: KeyID) -> KeyRecord | None:
            key = cfg.keys.get(keyid)
            return key if key is not None and key.participant == recipient else None

        assert answer.status is not None
        # Enough to verify the answer again later from the kept body (signatures.md).
        signed: dict[str, object] = {
            name.replace("-", "_"): answer.headers[name]
            for name in ("signature-input", "signature", "content-type", "content-digest")
            if name in answer.headers
        }
        try:
            verified = verify_response(
                status=answer.status,
                headers=answer.headers,
                body=answer.body,
                now=int(now.timestamp()),
                window_seconds=cfg.settings.limits.clock_skew_seconds,
                resolve_key=resolve,
            )
        except GatewayError as refusal:
            refused: dict[str, object] = {
                "status": "invalid",
                "check": refusal.slug,
                "detail": refusal.detail,
                **signed,
            }
            return _Receipt("invalid", refused, None)
        verified_detail: dict[str, object] = {
            "status": "verified",
            "keyid": verified.keyid,
            **signed,
        }
        return _Receipt("verified", verified_detail, answer.headers.get("signature"))

    async def _dead_without_attempt(
        self, delivery: Delivery, cfg: GatewayConfig, reason: str
    ) -> None:
        now = self.clock()
        details = {
            "delivery_id": delivery.delivery_id,
            "recipient": delivery.recipient,
            "reason": reason,
        }
        update = DeliveryUpdate(
            delivery_id=delivery.delivery_id,
            state=DeliveryState.DEAD,
            attempts=delivery.attempts,
            next_attempt_at=None,
            last_status=delivery.last_status,
            last_error=reason,
        )
        event = self._event(
            EventKind.DEAD_LETTERED, delivery, cfg, now, "undeliverable", {}, details
        )
        await self.storage.commit(Transaction(events=[event], delivery_updates=[update]))
        if self._on_outcome is not None:
            self._on_outcome("dead")

    def _event(  # noqa: PLR0917
        self,
        kind: EventKind,
        delivery: Delivery,
        cfg: GatewayConfig,
        at: dt.datetime,
        outcome: str,
        bodies: Mapping[str, str],
        details: Mapping[str, object],
    ) -> EventRow:
        return _event_row(
            kind,
            at,
            actor={"type": "gateway", "id": cfg.settings.gateway.id},
            message_id=delivery.message_id,
            participant=delivery.recipient,
            outcome=outcome,
            bodies=bodies,
            details=details,
        )


# ---- operator requeue (api.md: POST /v1/deliveries/{id}/retry, …/redeliver) ------------------


@dataclass(frozen=True, slots=True)
class Requeue:
    """What an operator's request changes: commit ``transaction``, then kick the worker."""

    transaction: Transaction
    requeued: tuple[str, ...]  # delivery ids put back in the queue
    skipped: tuple[str, ...]  # delivery ids already pending (left as they are)


async def retry_dead_letter(
    storage: Storage, delivery_id: str, operator: str, clock: Clock
) -> Requeue:
    """Put one dead-lettered delivery back in the queue with a fresh attempt budget."""
    delivery = await storage.get_delivery(delivery_id)
    if delivery is None:
        raise NotFound("delivery-unknown", f"no delivery has the id {delivery_id!r}")
    if delivery.state is not DeliveryState.DEAD:
        raise Conflict(
            "delivery-not-dead",
            f"delivery {delivery_id!r} is {delivery.state.value}; only a dead letter can be "
            "retried (use POST /v1/messages/{id}/redeliver to send a delivered one again)",
            field="delivery_id",
        )
    now = clock()
    return Requeue(
        Transaction(
            events=[_requeue_event(delivery, operator, now, "retry")],
            delivery_updates=[_requeue_update(delivery, operator, now)],
        ),
        (delivery_id,),
        (),
    )


async def redeliver(
    storage: Storage, message_id: str, recipient: str | None, operator: str, clock: Clock
) -> Requeue:
    """Deliver a message again to one recipient or all, under the same delivered message id
    (a recipient that still has it drops the copy). Pending deliveries are left alone."""
    deliveries = await storage.deliveries_of_message(message_id)
    if not deliveries:
        raise NotFound("message-unknown", f"message {message_id!r} has no deliveries")
    if recipient is not None:
        deliveries = [d for d in deliveries if d.recipient == recipient]
        if not deliveries:
            raise NotFound(
                "recipient-not-addressed",
                f"message {message_id!r} was not routed to {recipient!r}",
                field="recipient",
            )
    now = clock()
    tx = Transaction()
    requeued: list[str] = []
    skipped: list[str] = []
    for delivery in deliveries:
        if delivery.state is DeliveryState.PENDING:
            skipped.append(delivery.delivery_id)
            continue
        tx.events.append(_requeue_event(delivery, operator, now, "redeliver"))
        tx.delivery_updates.append(_requeue_update(delivery, operator, now))
        requeued.append(delivery.delivery_id)
    return Requeue(tx, tuple(requeued), tuple(skipped))


def _requeue_update(delivery: Delivery, operator: str, now: dt.datetime) -> DeliveryUpdate:
    # attempts = 0 starts a new round; the marker in last_error tells the worker to number
    # the next attempt after the rows already recorded.
    return DeliveryUpdate(
        delivery_id=delivery.delivery_id,
        state=DeliveryState.PENDING,
        attempts=0,
        next_attempt_at=now,
        last_status=delivery.last_status,
        last_error=(
            f"requeued by operator {operator} at {format_time(now)} after "
            f"{delivery.attempts} attempt(s) ({delivery.state.value})"
        ),
    )


def _requeue_event(delivery: Delivery, operator: str, now: dt.datetime, how: str) -> EventRow:
    return _event_row(
        EventKind.REDELIVERY_REQUESTED,
        now,
        actor={"type": "operator", "id": operator},
        message_id=delivery.message_id,
        participant=delivery.recipient,
        outcome="requeued",
        bodies={},
        details={
            "delivery_id": delivery.delivery_id,
            "recipient": delivery.recipient,
            "request": how,
            "previous_state": delivery.state.value,
            "previous_attempts": delivery.attempts,
        },
    )


# ---- small pieces ---------------------------------------------------------------------------


def _event_row(
    kind: EventKind,
    at: dt.datetime,
    *,
    actor: Mapping[str, str],
    message_id: str,
    participant: str,
    outcome: str,
    bodies: Mapping[str, str],
    details: Mapping[str, object],
) -> EventRow:
    event = AuditEvent(
        kind=kind,
        at=at,
        actor=dict(actor),
        outcome=outcome,
        message_id=message_id,
        body_sha256=dict(bodies),
        details={k: v for k, v in details.items() if v is not None},
    )
    return EventRow(
        leaf=leaf_bytes(event),
        kind=kind.value,
        at=at,
        message_id=message_id,
        participant=participant,
        outcome=outcome,
    )


@functools.lru_cache(maxsize=256)  # bounded: one entry per endpoint configured (and reloaded)
def _parse_endpoint(endpoint: str) -> tuple[httpx.URL, str, str]:
    """The endpoint's URL, its authority and request target (parsed once, not per attempt)."""
    url = httpx.URL(endpoint)
    return url, url.netloc.decode("ascii"), url.raw_path.decode("ascii")


def _postpone(delivery: Delivery, until: dt.datetime) -> DeliveryUpdate:
    return DeliveryUpdate(
        delivery_id=delivery.delivery_id,
        state=DeliveryState.PENDING,
        attempts=delivery.attempts,
        next_attempt_at=until,
        last_status=delivery.last_status,
        last_error=delivery.last_error,
    )


def _losses(raw: bytes) -> tuple[Loss, ...]:
    entries = orjson.loads(raw) if raw else []
    return tuple(
        Loss(field=e["field"], source_value=e["source_value"], reason=e["reason"]) for e in entries
    )
