"""The HTTP/1.1 protocol `gateway serve` runs: uvicorn's h11 protocol with a deadline for
the request head (docs/security.md, "Slow clients").

uvicorn bounds how long an idle keep-alive connection may wait *after* a response
(`timeout_keep_alive`), but a new connection that sends nothing, or a request head sent a
byte at a time, has no deadline at all: each holds a connection slot for ever
(`limit_concurrency`, beyond which every client gets 503). Here
every connection must deliver a complete request head within `HEAD_TIMEOUT_SECONDS` of
being opened, and again of each response it received; data arriving does not extend it
(unlike the keep-alive timer). Past it the connection gets a 408 problem and is closed.
The body has its own deadline in the app (`[limits] body_timeout_seconds`,
`gateway.api._http.read_body`), where it is answered, audited, like any other refusal.

No audit event for a head that never completed: there is no request to record (as for a
head over the parser's bound), and a flood of idle connections must not turn into a flood
of writes. Each is counted (`gateway_http_head_timeouts_total`) and logged at INFO.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
import orjson
from uvicorn.protocols.http.h11_impl import H11Protocol

from gateway.metrics import ProcessCounters

HEAD_TIMEOUT_SECONDS = 10.0

log = logging.getLogger("gateway.http")

_PROBLEM = orjson.dumps(
    {
        "type": "urn:gateway:problem:head-timeout",
        "title": "Request timeout",
        "status": 408,
        "detail": (
            f"the request line and header fields were not complete within "
            f"{HEAD_TIMEOUT_SECONDS:g} s of the connection opening (or of the previous "
            "response); send the whole head at once"
        ),
    }
)
_ANSWER = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: application/problem+json\r\n"
    b"connection: close\r\n"
    b"content-length: %d\r\n\r\n%b" % (len(_PROBLEM), _PROBLEM)
)


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus the request-head deadline described above."""

    head_timeout: float = HEAD_TIMEOUT_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self._serving():
            self._disarm_head_deadline()  # a whole head arrived: the app's deadlines apply

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self._serving():
            # The next request's head (on this keep-alive connection), or the rest of a
            # body the app answered without reading, must come within the deadline too.
            self._arm_head_deadline()

    def _serving(self) -> bool:
        """A request head arrived and its response is not complete yet."""
        return self.cycle is not None and not self.cycle.response_complete

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_deadline = self.loop.call_later(self.head_timeout, self._head_late)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_late(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing() or self._serving():
            return
        ProcessCounters.head_timeouts += 1
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "unknown"
        log.info(
            "http-head-timeout",
            extra={"fields": {"client": client, "seconds": self.head_timeout}},
        )
        if self.conn.their_state is h11.IDLE:  # nothing of a request, or part of a head
            self.transport.write(_ANSWER)
        # else: the rest of a body the app already answered; no second answer
        self.transport.close()
