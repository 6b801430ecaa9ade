"""The delivery worker's HTTP side: the connections to each recipient, and one POST.

Each recipient has ``per_recipient`` slots (an attempt holds one while it posts), spread over
httpx transports of at most ``pool_connections`` connections each: httpcore's pool walks
every one of its connections, and for each waiting request every one again, at each request
and answer, so one pool of 32 connections costs several times what four pools of 8 cost
per request (docs/performance.md, Delivery).

The worker talks to the transport directly rather than through an ``httpx.AsyncClient``: it
wants none of what the client adds per request — no cookie jar (a recipient's Set-Cookie is
neither kept nor sent back, so nothing grows with what recipients answer), no redirects (a
3xx is the answer), no auth, no proxy from the environment. The request carries the same
header fields a client would send (``CLIENT_HEADERS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass

import httpx

__all__ = ["CLIENT_HEADERS", "Answer", "Lanes", "post"]

# What an httpx.AsyncClient adds to every request by default, in its order and spelling
# (tests/unit/test_outbound.py holds it to the installed httpx).
CLIENT_HEADERS: tuple[tuple[str, str], ...] = (
    ("Accept", "*/*"),
    ("Accept-Encoding", "gzip, deflate"),
    ("Connection", "keep-alive"),
    ("User-Agent", f"python-httpx/{httpx.__version__}"),
)


@dataclass(frozen=True, slots=True)
class Answer:
    """A recipient's answer to one POST, or why there was none."""

    status: int | None  # None: no answer (network error, timeout)
    headers: Mapping[str, str]  # lower-case names, repeated fields joined with ", "
    body: bytes
    truncated: bool
    error: str | None
    duration_ms: float


class Lanes:
    """The slots to each recipient, and the transports behind them.

    ``transport`` given (tests): every slot uses it, and it is not closed here."""

    def __init__(
        self,
        *,
        per_recipient: int,
        pool_connections: int,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._per_recipient = per_recipient
        self._pool_connections = pool_connections
        self._given = transport
        self._own: list[httpx.AsyncHTTPTransport] = []
        # Per recipient, one entry per free slot: the transport that slot posts with.
        self._free: dict[str, asyncio.Queue[httpx.AsyncBaseTransport]] = {}

    @contextlib.asynccontextmanager
    async def slot(self, recipient: str) -> AsyncIterator[httpx.AsyncBaseTransport]:
        """Hold one of ``recipient``'s slots (waiting while all are busy)."""
        free = self._free.get(recipient)
        if free is None:
            free = self._free[recipient] = self._fill()
        transport = await free.get()
        try:
            yield transport
        finally:
            free.put_nowait(transport)

    def _fill(self) -> asyncio.Queue[httpx.AsyncBaseTransport]:
        free: asyncio.Queue[httpx.AsyncBaseTransport] = asyncio.Queue()
        size = self._pool_connections
        for first in range(0, self._per_recipient, size):
            connections = min(size, self._per_recipient - first)
            transport = self._given or self._new_transport(connections)
            for _ in range(connections):
                free.put_nowait(transport)
        return free

    def _new_transport(self, connections: int) -> httpx.AsyncHTTPTransport:
        transport = httpx.AsyncHTTPTransport(
            verify=_tls_context(),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )
        self._own.append(transport)
        return transport

    async def aclose(self) -> None:
        """Close every connection this made; the next slot taken opens new ones."""
        own, self._own, self._free = self._own, [], {}
        for transport in own:
            await transport.aclose()


async def post(
    transport: httpx.AsyncBaseTransport,
    url: httpx.URL,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    *,
    timeout_seconds: float,
    answer_limit: int,
) -> Answer:
    """POST ``body`` and read at most ``answer_limit`` bytes of the answer. Never raises for
    what the network or the recipient did: that is an Answer without a status."""
    timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 5.0))
    request = httpx.Request(
        "POST",
        url,
        headers=[*CLIENT_HEADERS, *headers],
        content=body,
        extensions={"timeout": timeout.as_dict()},
    )
    started = time.perf_counter()
    # httpx's timeouts bound each read; a recipient dripping one byte at a time would
    # pass them all, so the whole exchange has a deadline too (docs/security.md).
    deadline = 2 * timeout_seconds
    try:
        async with asyncio.timeout(deadline):
            response = await transport.handle_async_request(request)
            try:
                answer, truncated = await _read_limited(response, answer_limit)
            finally:
                await response.aclose()
        fields: dict[str, str] = {}
        for name, value in response.headers.multi_items():
            key = name.lower()
            fields[key] = f"{fields[key]}, {value}" if key in fields else value
        return Answer(response.status_code, fields, answer, truncated, None, _ms_since(started))
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}".rstrip(": ")
        return Answer(None, {}, b"", False, error, _ms_since(started))
    except TimeoutError:
        error = f"TimeoutError: no complete answer within {deadline:g} s"
        return Answer(None, {}, b"", False, error, _ms_since(started))


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default context (certifi's CAs, verification on), made once per process:
    each transport would otherwise load the CA bundle again (~50 ms of CPU here)."""
    return httpx.create_ssl_context()


async def _read_limited(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
