"""DeliveryWorker plumbing with httpx.MockTransport (retry policy, breaker, stop/kick) over a
real SQLite storage. End-to-end behaviour against real servers: tests/integration."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx

from gateway import crypto
from gateway.config import load_config
from gateway.delivery import DeliveryPolicy, DeliveryWorker
from gateway.storage import DeliveryState, open_storage
from tests.harness import write_config
from tests.integration.test_delivery_live import Env, until, utc_now

Handler = Callable[[httpx.Request], httpx.Response]


@contextlib.asynccontextmanager
async def env_with(tmp_path: Path) -> AsyncIterator[Env]:
    cfg = write_config(
        tmp_path / "cfg",
        endpoints={"ae-moi": "http://ae-moi.test/inbox"},
        extra_gateway="backoff_initial_seconds = 2.0\nbackoff_max_seconds = 60\n",
    )
    config = load_config(cfg.directory)
    storage = open_storage(config.storage_url)
    await storage.open()
    try:
        yield Env(
            cfg.directory,
            config,
            storage,
            {},
            crypto.as_private_key(cfg.gateway_key),
            {p: crypto.as_private_key(k) for p, k in cfg.keys.items()},
        )
    finally:
        await storage.close()


def worker_for(env: Env, handler: Handler, **policy: object) -> DeliveryWorker:
    return DeliveryWorker(
        env.storage,
        lambda: env.config,
        key=env.gateway_key,
        transport=httpx.MockTransport(handler),
        clock=utc_now,
        policy=DeliveryPolicy(**policy),  # type: ignore[arg-type]
    )


def test_request_is_signed_for_the_endpoint_and_network_errors_back_off(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    async def scenario() -> None:
        async with env_with(tmp_path) as env:
            delivery_id = await env.queue("ae-moi")
            worker = worker_for(env, refuse)
            before = utc_now()
            assert await worker.run_once() == 1
            after = utc_now()
            (request,) = seen
            assert request.url == "http://ae-moi.test/inbox"
            assert request.headers["content-type"] == "application/vnd.gccpol.alert+xml"
            assert request.headers["signature-input"].startswith(
                'sig1=("@method" "@authority" "@path" "content-type" "content-digest");created='
            )
            assert 'keyid="gateway-2026"' in request.headers["signature-input"]
            pending = await env.storage.get_delivery(delivery_id)
            assert pending is not None and pending.state is DeliveryState.PENDING
            assert pending.attempts == 1 and pending.last_status is None
            assert pending.last_error and "ConnectError" in pending.last_error
            # full jitter over [0, 2 s] (backoff_initial_seconds) after the attempt
            assert pending.next_attempt_at is not None
            assert before <= pending.next_attempt_at <= after + dt.timedelta(seconds=2)
            (attempt,) = await env.storage.attempts_of(delivery_id)
            assert attempt.status_code is None and attempt.answer is None
            await worker.stop()

    asyncio.run(scenario())


def test_open_breaker_postpones_without_spending_an_attempt(tmp_path: Path) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    async def scenario() -> None:
        async with env_with(tmp_path) as env:
            first = await env.queue("ae-moi")
            worker = worker_for(env, fail, breaker_threshold=1, breaker_cooldown=60)
            await worker.run_once()  # one 503 opens the breaker
            second = await env.queue("ae-moi")
            assert await worker.run_once() == 1  # claimed, but postponed
            waiting = await env.storage.get_delivery(second)
            assert waiting is not None and waiting.attempts == 0
            assert waiting.next_attempt_at is not None
            assert waiting.next_attempt_at > utc_now() + dt.timedelta(seconds=55)
            assert await env.storage.attempts_of(second) == []
            assert len(await env.storage.attempts_of(first)) == 1
            events = await env.events(waiting.message_id)
            assert [e.kind.value for e in events] == ["received"]  # nothing audited
            await worker.stop()

    asyncio.run(scenario())


def test_redirect_is_not_followed_and_dead_letters(tmp_path: Path) -> None:
    def redirect(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"location": "http://elsewhere.test/"})

    async def scenario() -> None:
        async with env_with(tmp_path) as env:
            delivery_id = await env.queue("ae-moi")
            worker = worker_for(env, redirect)
            await worker.run_once()
            dead = await env.storage.get_delivery(delivery_id)
            assert dead is not None and dead.state is DeliveryState.DEAD
            last = (await env.events(dead.message_id))[-1]
            assert "redirects are not followed" in last.details["reason"]
            await worker.stop()

    asyncio.run(scenario())


def test_oversized_signed_answer_is_kept_truncated_and_not_trusted(tmp_path: Path) -> None:
    def big(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            content=b"x" * 5000,
            headers={"signature-input": 'sig1=("@status")', "signature": "sig1=:AA==:"},
        )

    async def scenario() -> None:
        async with env_with(tmp_path) as env:
            delivery_id = await env.queue("ae-moi")
            worker = worker_for(env, big, answer_limit=1000)
            await worker.run_once()
            (attempt,) = await env.storage.attempts_of(delivery_id)
            assert attempt.answer == b"x" * 1000
            assert attempt.error == "answer signature invalid: answer-too-large"
            done = await env.storage.get_delivery(delivery_id)
            assert done is not None and done.state is DeliveryState.DELIVERED
            await worker.stop()

    asyncio.run(scenario())


def test_kick_wakes_the_worker_and_stop_drains_the_attempt_in_flight(tmp_path: Path) -> None:
    release = asyncio.Event()
    arrived = asyncio.Event()

    async def gated(request: httpx.Request) -> httpx.Response:
        arrived.set()
        await release.wait()
        return httpx.Response(202)

    async def scenario() -> None:
        async with env_with(tmp_path) as env:
            worker = DeliveryWorker(
                env.storage,
                lambda: env.config,
                key=env.gateway_key,
                transport=httpx.MockTransport(gated),
                clock=utc_now,
                policy=DeliveryPolicy(idle_poll=30),
            )
            worker.start()
            await asyncio.sleep(0)  # the loop finds an empty queue and sleeps (up to 30 s)
            delivery_id = await env.queue("ae-moi")
            started = time.monotonic()
            worker.kick()
            await asyncio.wait_for(arrived.wait(), timeout=5)
            assert time.monotonic() - started < 5  # woken by the kick, not the 30 s poll
            stopping = asyncio.create_task(worker.stop())
            await asyncio.sleep(0.05)
            assert not stopping.done()  # waits for the attempt in flight
            release.set()
            await asyncio.wait_for(stopping, timeout=5)
            done = await env.storage.get_delivery(delivery_id)
            assert done is not None and done.state is DeliveryState.DELIVERED

    asyncio.run(scenario())


def test_the_next_attempt_is_numbered_after_the_recorded_ones(tmp_path: Path) -> None:
    """Attempt rows are numbered 1, 2, … however the retries are spread in time."""
    statuses = iter([503, 202])

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(statuses))

    async def scenario() -> None:
        async with env_with(tmp_path) as env:
            delivery_id = await env.queue("ae-moi")
            worker = worker_for(env, answer)
            await worker.run_once()
            pending = await env.storage.get_delivery(delivery_id)
            assert pending is not None and pending.attempts == 1
            later = utc_now() + dt.timedelta(seconds=3)
            worker.clock = lambda: later
            await until(worker.run_once)
            attempts = await env.storage.attempts_of(delivery_id)
            assert [(a.attempt, a.status_code) for a in attempts] == [(1, 503), (2, 202)]
            await worker.stop()

    asyncio.run(scenario())
