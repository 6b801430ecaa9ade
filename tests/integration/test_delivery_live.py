"""The delivery worker against REAL loopback recipients (simulators) and REAL SQLite storage."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest

from gateway import crypto
from gateway.audit.events import AuditEvent, EventKind, event_from_leaf, leaf_bytes
from gateway.config import GatewayConfig, load_config
from gateway.delivery import DeliveryPolicy, DeliveryWorker, redeliver, retry_dead_letter
from gateway.keys import KeyID, KeyRecord
from gateway.signatures import verify_response
from gateway.simulators import GatewayKeys, Mode, Simulator, SimulatorIdentity
from gateway.storage import (
    BodyRow,
    Delivery,
    DeliveryState,
    EventFilter,
    EventRow,
    MessageRow,
    NewDelivery,
    Storage,
    Transaction,
    open_storage,
)
from tests.harness import free_port, raw_public, write_config

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "data"
INTERPOL_BODY = (DATA / "interpol-red-publish.json").read_bytes()
GCC_BODY = (DATA / "gccpol-missing-new.xml").read_bytes()
GCC_ID = b"0b6c1f0e-3f5e-4c7e-9a57-4bb0f5f6a2d1"
INTERPOL_MT = "application/vnd.interpol.notice+json"
GCC_MT = "application/vnd.gccpol.alert+xml"
SCHEMA = {"ipsg": "interpol", "ncb-fr": "interpol", "ncb-de": "interpol"}
FAST = """backoff_initial_seconds = 0.05
backoff_max_seconds = 0.2
timeout_seconds = 2.0
"""

T = TypeVar("T")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def until(check: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:
    """Poll ``check`` until it returns something truthy, with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.02)


@dataclass
class Env:
    directory: Path
    config: GatewayConfig
    storage: Storage
    sims: dict[str, Simulator]
    gateway_key: crypto.PrivateKey
    keys: dict[str, crypto.PrivateKey]

    def worker(self, policy: DeliveryPolicy | None = None, **kwargs: Any) -> DeliveryWorker:
        return DeliveryWorker(
            self.storage,
            lambda: self.config,
            key=self.gateway_key,
            clock=kwargs.pop("clock", utc_now),
            policy=policy or DeliveryPolicy(breaker_cooldown=0.3, probe_wait=0.05),
            **kwargs,
        )

    async def queue(
        self, recipient: str, *, sender: str = "ncb-fr", delivery_id: str | None = None
    ) -> str:
        """Record an accepted message and one translated delivery, as ingress would."""
        now = utc_now()
        message_id = str(uuid.uuid4())
        delivered_id = str(uuid.uuid4())
        origin = INTERPOL_BODY.replace(
            b'"message_id"', b'"_x": "' + message_id.encode() + b'", "message_id"', 1
        )
        if SCHEMA.get(recipient) == "interpol":
            body = orjson.dumps({**orjson.loads(INTERPOL_BODY), "message_id": delivered_id})
            media_type = INTERPOL_MT
        else:
            body = GCC_BODY.replace(GCC_ID, delivered_id.encode())
            media_type = GCC_MT
        origin_sha = hashlib.sha256(origin).hexdigest()
        body_sha = hashlib.sha256(body).hexdigest()
        received = AuditEvent(
            kind=EventKind.RECEIVED,
            at=now,
            actor={"type": "participant", "id": sender},
            outcome="accepted",
            message_id=message_id,
            body_sha256={"received": origin_sha},
        )
        delivery_id = delivery_id or str(uuid.uuid4())
        losses = [
            {"field": "notice.eyes_colors_id[1]", "source_value": "BRO", "reason": "one only"}
        ]
        await self.storage.commit(
            Transaction(
                events=[
                    EventRow(leaf_bytes(received), "received", now, message_id, sender, "accepted")
                ],
                message=MessageRow(
                    sender=sender,
                    message_id=message_id,
                    body_sha256=origin_sha,
                    kind="publish",
                    notice_key=f"nk-{message_id}",
                    received_at=now,
                    outcome=b"{}",
                    received_event_pos=0,
                    keyid=f"{sender}-2026",
                    signature="sig1=:b3JpZ2luLXNpZ25hdHVyZQ==:",
                ),
                bodies=[
                    BodyRow(origin_sha, origin, INTERPOL_MT),
                    BodyRow(body_sha, body, media_type),
                ],
                deliveries=[
                    NewDelivery(
                        delivery_id=delivery_id,
                        message_id=message_id,
                        sender=sender,
                        recipient=recipient,
                        notice_key=f"nk-{message_id}",
                        kind="publish",
                        body_sha256=body_sha,
                        media_type=media_type,
                        delivered_message_id=delivered_id,
                        next_attempt_at=now,
                        losses=orjson.dumps(losses),
                    )
                ],
            )
        )
        return delivery_id

    async def state(self, delivery_id: str, want: DeliveryState) -> Delivery | None:
        found = await self.storage.get_delivery(delivery_id)
        return found if found is not None and found.state is want else None

    async def events(self, message_id: str) -> list[AuditEvent]:
        stored = await self.storage.search_events(
            EventFilter(message_id=message_id), 100, after=None
        )
        return [event_from_leaf(e.leaf) for e in stored]


@contextlib.asynccontextmanager
async def environment(
    tmp_path: Path,
    recipients: list[str],
    *,
    extra: str = FAST,
    endpoints: dict[str, str] | None = None,
    sim_keys: dict[str, crypto.PrivateKey] | None = None,
) -> AsyncIterator[Env]:
    ports = {r: free_port() for r in recipients}
    eps = {r: f"http://127.0.0.1:{p}/inbox" for r, p in ports.items()} | (endpoints or {})
    cfg = write_config(tmp_path / "cfg", endpoints=eps, extra_gateway=extra)
    config = load_config(cfg.directory)
    storage = open_storage(config.storage_url)
    await storage.open()
    gateway_key = crypto.as_private_key(cfg.gateway_key)
    keys = {p: crypto.as_private_key(k) for p, k in cfg.keys.items()}
    trusted = GatewayKeys(
        [KeyRecord(KeyID("gateway-2026"), "gateway", raw_public(cfg.gateway_key))]
    )
    sims: dict[str, Simulator] = {}
    try:
        for r in recipients:
            identity = SimulatorIdentity(
                r,
                r,
                SCHEMA.get(r, "gccpol"),
                f"{r}-2026",
                (sim_keys or {}).get(r, keys[r]),
                port=ports[r],
            )
            sims[r] = Simulator(identity, trusted)
            await sims[r].start()
        yield Env(cfg.directory, config, storage, sims, gateway_key, keys)
    finally:
        for sim in sims.values():
            await sim.stop()
        await storage.close()


def run(coro: Awaitable[None]) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


# ---- outcomes -------------------------------------------------------------------------------


def test_delivered_with_provenance_and_the_signed_answer_kept(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with environment(tmp_path, ["ae-moi", "ncb-de"]) as env:
            gcc = await env.queue("ae-moi")
            interpol = await env.queue("ncb-de", sender="ae-moi")
            worker = env.worker()
            worker.start()
            try:
                done = [
                    await until(lambda i=i: env.state(i, DeliveryState.DELIVERED))
                    for i in (gcc, interpol)
                ]  # type: ignore[misc]
            finally:
                await worker.stop()
            for delivery, sim in zip(done, (env.sims["ae-moi"], env.sims["ncb-de"]), strict=True):
                assert delivery.attempts == 1 and delivery.last_status == 202
                (got,) = sim.received
                assert got.message_id == delivery.delivered_message_id
                origin = await env.storage.find_message(delivery.sender, delivery.message_id)
                assert origin is not None
                assert got.provenance["origin"] == delivery.sender
                assert got.provenance["origin_message_id"] == delivery.message_id
                assert got.provenance["body_sha256"] == origin.body_sha256
                assert got.provenance["keyid"] == origin.keyid
                assert got.provenance["signature"] == origin.signature
                assert int(got.provenance["audit_index"]) == origin.received_index
                assert got.provenance["losses"][0]["source_value"] == "BRO"
                (attempt,) = await env.storage.attempts_of(delivery.delivery_id)
                assert attempt.status_code == 202 and attempt.answer is not None
                assert orjson.loads(attempt.answer)["status"] == "accepted"
                assert attempt.answer_signature and attempt.answer_signature.startswith("sig1=:")
                events = await env.events(delivery.message_id)
                kinds = [e.kind for e in events]
                assert kinds == [
                    EventKind.RECEIVED,
                    EventKind.DELIVERY_ATTEMPTED,
                    EventKind.DELIVERED,
                ]
                delivered = events[-1]
                assert delivered.outcome == "verified"
                proof = delivered.details["answer_signature"]
                assert proof["keyid"] == f"{delivery.recipient}-2026"
                # the kept answer and the signed fields in the log verify again, later
                recipient_key = env.config.keys[proof["keyid"]]
                again = verify_response(
                    status=202,
                    headers={
                        "content-type": proof["content_type"],
                        "content-digest": proof["content_digest"],
                        "signature-input": proof["signature_input"],
                        "signature": proof["signature"],
                    },
                    body=attempt.answer,
                    now=int(time.time()),
                    window_seconds=300,
                    resolve_key=lambda k, rk=recipient_key: rk if k == rk.keyid else None,
                )
                assert again.participant == delivery.recipient
                # the exact bytes sent are stored, and their digest is in the log
                sent = await env.storage.get_body(delivered.body_sha256["sent"])  # type: ignore[index]
                assert sent is not None and sent.body == got.body

    run(scenario())


def test_answer_with_a_bad_signature_still_counts_as_delivered(tmp_path: Path) -> None:
    async def scenario() -> None:
        impostor = crypto.generate()
        async with environment(tmp_path, ["sa-psd"], sim_keys={"sa-psd": impostor}) as env:
            delivery_id = await env.queue("sa-psd")
            worker = env.worker()
            assert await worker.run_once() == 1
            done = await env.state(delivery_id, DeliveryState.DELIVERED)
            assert done is not None
            (attempt,) = await env.storage.attempts_of(delivery_id)
            assert attempt.answer_signature is None
            assert attempt.error == "answer signature invalid: signature-invalid"
            delivered = (await env.events(done.message_id))[-1]
            assert delivered.kind is EventKind.DELIVERED and delivered.outcome == "invalid"
            assert delivered.details["answer_signature"]["check"] == "signature-invalid"
            await worker.stop()

    run(scenario())


def test_503_then_200_is_retried(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with environment(tmp_path, ["ae-moi"]) as env:
            await env.sims["ae-moi"].set_mode(Mode("5xx", times=1))
            delivery_id = await env.queue("ae-moi")
            worker = env.worker()
            worker.start()
            try:
                done = await until(lambda: env.state(delivery_id, DeliveryState.DELIVERED))
            finally:
                await worker.stop()
            attempts = await env.storage.attempts_of(delivery_id)
            assert [a.status_code for a in attempts] == [503, 202]
            assert [a.attempt for a in attempts] == [1, 2]
            assert done.attempts == 2
            kinds = [e.kind for e in await env.events(done.message_id)]
            assert kinds[1:] == [
                EventKind.DELIVERY_ATTEMPTED,
                EventKind.DELIVERY_FAILED,
                EventKind.DELIVERY_ATTEMPTED,
                EventKind.DELIVERED,
            ]
            assert env.sims["ae-moi"].requests == 2

    run(scenario())


def test_429_retry_after_is_honoured(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with environment(tmp_path, ["ae-moi"]) as env:
            await env.sims["ae-moi"].set_mode(Mode("429", retry_after=1, times=1))
            delivery_id = await env.queue("ae-moi")
            worker = env.worker()
            worker.start()
            try:
                await until(lambda: env.state(delivery_id, DeliveryState.DELIVERED))
            finally:
                await worker.stop()
            first, second = await env.storage.attempts_of(delivery_id)
            assert first.status_code == 429 and second.status_code == 202
            # backoff alone would have come back within 0.05 s
            assert (second.at - first.at).total_seconds() >= 0.95

    run(scenario())


def test_400_is_dead_lettered_at_once_with_the_answer_kept(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with environment(tmp_path, ["ae-moi"]) as env:
            await env.sims["ae-moi"].set_mode(Mode("4xx", status=422))
            delivery_id = await env.queue("ae-moi")
            worker = env.worker()
            assert await worker.run_once() == 1
            dead = await env.state(delivery_id, DeliveryState.DEAD)
            assert dead is not None and dead.attempts == 1 and dead.last_status == 422
            (attempt,) = await env.storage.attempts_of(delivery_id)
            assert orjson.loads(attempt.answer or b"{}")["error"] == "simulated-4xx"
            last = (await env.events(dead.message_id))[-1]
            assert last.kind is EventKind.DEAD_LETTERED and last.outcome == "refused"
            assert "refused with 422" in last.details["reason"]
            assert await worker.run_once() == 0  # a dead letter is not claimed again
            await worker.stop()

    run(scenario())


def test_max_attempts_then_dead(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with environment(tmp_path, ["ae-moi"]) as env:
            await env.sims["ae-moi"].set_mode(Mode("5xx", status=500))
            delivery_id = await env.queue("ae-moi")
            worker = env.worker(DeliveryPolicy(breaker_threshold=100))
            worker.start()
            try:
                dead = await until(lambda: env.state(delivery_id, DeliveryState.DEAD))
            finally:
                await worker.stop()
            assert dead.attempts == 4 == env.config.settings.delivery.max_attempts
            assert [a.status_code for a in await env.storage.attempts_of(delivery_id)] == [500] * 4
            last = (await env.events(dead.message_id))[-1]
            assert last.outcome == "exhausted" and "4 attempts of 4" in last.details["reason"]

    run(scenario())


def test_max_age_then_dead(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with environment(tmp_path, ["ae-moi"]) as env:
            await env.sims["ae-moi"].set_mode(Mode("5xx"))
            delivery_id = await env.queue("ae-moi")
            later = lambda: utc_now() + dt.timedelta(seconds=601)  # noqa: E731
            worker = env.worker(clock=later)
            assert await worker.run_once() == 1
            dead = await env.state(delivery_id, DeliveryState.DEAD)
            assert dead is not None and dead.attempts == 1
            last = (await env.events(dead.message_id))[-1]
            assert "older than 600 s" in last.details["reason"]
            await worker.stop()

    run(scenario())


def test_recipient_down_then_up_is_delivered(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with environment(tmp_path, ["ae-moi"]) as env:
            sim = env.sims["ae-moi"]
            await sim.set_mode(Mode("down"))
            delivery_id = await env.queue("ae-moi")
            worker = env.worker(
                DeliveryPolicy(breaker_threshold=2, breaker_cooldown=0.2, probe_wait=0.05)
            )
            worker.start()
            try:

                async def refused_twice() -> bool:
                    return len(await env.storage.attempts_of(delivery_id)) >= 2

                await until(refused_twice)
                await sim.set_mode(Mode("ok"))
                done = await until(lambda: env.state(delivery_id, DeliveryState.DELIVERED))
            finally:
                await worker.stop()
            attempts = await env.storage.attempts_of(delivery_id)
            assert all(a.status_code is None and a.error for a in attempts[:-1])
            assert attempts[-1].status_code == 202
            assert done.attempts == len(attempts) <= 4
            assert len(sim.received) == 1

    run(scenario())


def test_breaker_keeps_a_hung_recipient_from_slowing_another(tmp_path: Path) -> None:
    """A host that accepts connections and never answers: every attempt costs the read
    timeout. With the first claimed batch all for it, the live recipient still finishes
    within a bound, because the open breaker postpones the rest without an attempt."""

    async def scenario() -> None:
        hung = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        hung.bind(("127.0.0.1", 0))
        hung.listen(64)
        hung_url = f"http://127.0.0.1:{hung.getsockname()[1]}/inbox"
        extra = "backoff_initial_seconds = 0.05\nbackoff_max_seconds = 0.2\ntimeout_seconds = 1.0\n"
        try:
            async with environment(
                tmp_path, ["ae-moi"], extra=extra, endpoints={"sa-psd": hung_url}
            ) as env:
                stuck = [await env.queue("sa-psd", delivery_id=f"a-{i:02d}") for i in range(16)]
                live = [await env.queue("ae-moi", delivery_id=f"b-{i:02d}") for i in range(8)]
                worker = env.worker(
                    DeliveryPolicy(
                        concurrency=4, per_recipient=8, breaker_threshold=2, breaker_cooldown=30
                    )
                )
                started = time.monotonic()
                worker.start()
                try:
                    for delivery_id in live:
                        await until(lambda d=delivery_id: env.state(d, DeliveryState.DELIVERED))  # type: ignore[misc]
                    elapsed = time.monotonic() - started
                finally:
                    await worker.stop()
                # without the breaker: 16 hung attempts / 4 slots x 1 s = 4 s before the first
                assert elapsed < 2.5, f"live recipient took {elapsed:.2f} s"
                tried = [len(await env.storage.attempts_of(d)) for d in stuck]
                assert sum(tried) <= 4  # the first batch only; the rest were postponed
                for d in stuck:
                    pending = await env.storage.get_delivery(d)
                    assert pending is not None and pending.state is DeliveryState.PENDING
        finally:
            hung.close()

    run(scenario())


def test_lease_expiry_returns_a_crashed_workers_delivery(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with environment(tmp_path, ["ae-moi"]) as env:
            delivery_id = await env.queue("ae-moi")
            lease = dt.timedelta(seconds=0.5)
            claimed = await env.storage.claim_deliveries(utc_now(), 10, "crashed-worker", lease)
            assert [d.delivery_id for d in claimed] == [delivery_id]
            leased_at = time.monotonic()
            worker = env.worker()
            assert await worker.run_once() == 0  # leased by the crashed worker
            worker.start()
            try:
                await until(lambda: env.state(delivery_id, DeliveryState.DELIVERED))
            finally:
                await worker.stop()
            assert time.monotonic() - leased_at >= 0.45
            (attempt,) = await env.storage.attempts_of(delivery_id)
            assert attempt.attempt == 1 and attempt.status_code == 202

    run(scenario())


def test_operator_retry_of_a_dead_letter_and_redelivery(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with environment(tmp_path, ["ae-moi"]) as env:
            sim = env.sims["ae-moi"]
            await sim.set_mode(Mode("4xx"))
            delivery_id = await env.queue("ae-moi")
            worker = env.worker()
            await worker.run_once()
            dead = await env.state(delivery_id, DeliveryState.DEAD)
            assert dead is not None

            plan = await retry_dead_letter(env.storage, delivery_id, "duty-officer", utc_now)
            assert plan.requeued == (delivery_id,)
            await env.storage.commit(plan.transaction)
            await sim.set_mode(Mode("ok"))
            assert await worker.run_once() == 1
            done = await env.state(delivery_id, DeliveryState.DELIVERED)
            assert done is not None and done.attempts == 1  # a fresh round
            assert [a.attempt for a in await env.storage.attempts_of(delivery_id)] == [1, 2]

            with pytest.raises(Exception, match="delivery-not-dead"):
                await retry_dead_letter(env.storage, delivery_id, "duty-officer", utc_now)

            again = await redeliver(env.storage, done.message_id, None, "duty-officer", utc_now)
            assert again.requeued == (delivery_id,)
            await env.storage.commit(again.transaction)
            assert await worker.run_once() == 1
            attempts = await env.storage.attempts_of(delivery_id)
            assert [a.status_code for a in attempts] == [400, 202, 200]  # 200: a duplicate
            assert orjson.loads(attempts[-1].answer or b"{}")["status"] == "duplicate"
            assert len(sim.received) == 1 and sim.duplicates == 1

            requests = [
                e
                for e in await env.events(done.message_id)
                if e.kind is EventKind.REDELIVERY_REQUESTED
            ]
            assert [(e.actor["type"], e.actor["id"]) for e in requests] == [
                ("operator", "duty-officer")
            ] * 2
            assert [e.details["request"] for e in requests] == ["retry", "redeliver"]
            await worker.stop()

    run(scenario())
