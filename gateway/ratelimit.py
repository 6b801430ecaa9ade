"""Abuse limits on POST /v1/messages (api.md: 429 over the sender's rate limit).

Two kinds of budget, both refused with 429 and ``Retry-After``:

- a token bucket per participant, charged only AFTER the request's signature verified, so
  nobody can spend a real sender's budget by sending requests in its name; beside it a cap
  on the sender's requests in flight at once (a slow-loris sender holds few slots);
- one global bucket for requests that never authenticated (no signature, a bad one, a
  body too large to read...): an unauthenticated flood empties that bucket only.

Time is a monotonic clock passed in, so tests drive the buckets without sleeping.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.config import LimitsSection
from gateway.errors import TooManyRequests

UNAUTHENTICATED = "(unauthenticated)"


@dataclass(slots=True)
class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; one token per request."""

    rate: float
    burst: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take one token: 0.0 when granted, else the seconds until one is available."""
        if self.rate <= 0:
            return 0.0  # rate 0 means "no limit" (config.md [limits])
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


@dataclass(frozen=True, slots=True)
class LimitSettings:
    sender_rate: float
    sender_burst: int
    sender_concurrency: int
    unauthenticated_rate: float
    unauthenticated_burst: int


@dataclass(slots=True)
class Slot:
    """One request in flight for ``participant``; release exactly once."""

    limiter: SenderLimiter
    participant: str
    released: bool = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.limiter.release(self.participant)


@dataclass(slots=True)
class SenderLimiter:
    settings: LimitSettings
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)
    _in_flight: dict[str, int] = field(default_factory=dict)

    def configure(self, settings: LimitSettings) -> None:
        """New limits (configuration reload): buckets restart full at the new burst."""
        if settings != self.settings:
            self.settings = settings
            self._buckets.clear()

    def _bucket(self, key: str, rate: float, burst: int) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(rate, float(burst), float(burst), self.clock())
            self._buckets[key] = bucket
        return bucket

    def admit(self, participant: str) -> Slot:
        """Admit one verified request of ``participant`` or raise 429."""
        s = self.settings
        wait = self._bucket(participant, s.sender_rate, s.sender_burst).take(self.clock())
        if wait > 0:
            raise too_many(
                f"participant {participant!r} is over its rate limit of "
                f"{s.sender_rate:g} requests a second (burst {s.sender_burst})",
                wait,
                participant,
            )
        in_flight = self._in_flight.get(participant, 0)
        if in_flight >= s.sender_concurrency:
            raise too_many(
                f"participant {participant!r} already has {in_flight} requests in flight; "
                f"the limit is {s.sender_concurrency}: wait for answers before sending more",
                1.0,
                participant,
            )
        self._in_flight[participant] = in_flight + 1
        return Slot(self, participant)

    def release(self, participant: str) -> None:
        left = self._in_flight.get(participant, 0) - 1
        if left > 0:
            self._in_flight[participant] = left
        else:
            self._in_flight.pop(participant, None)

    def charge_unauthenticated(self) -> float:
        """Charge the shared bucket of requests that did not authenticate: 0.0 when there
        was budget, else the seconds to wait."""
        s = self.settings
        bucket = self._bucket(UNAUTHENTICATED, s.unauthenticated_rate, s.unauthenticated_burst)
        return bucket.take(self.clock())

    def in_flight(self, participant: str) -> int:
        return self._in_flight.get(participant, 0)


def too_many(detail: str, wait: float, participant: str | None = None) -> TooManyRequests:
    seconds = max(1, math.ceil(wait))  # RFC 9110 §10.2.3: delay-seconds, an integer
    extra: dict[str, object] = {"retry_after_seconds": seconds}
    if participant is not None:
        extra["participant"] = participant
    return TooManyRequests(
        "rate-limited",
        f"{detail}; retry after {seconds} s",
        extra=extra,
        headers={"Retry-After": str(seconds)},
    )


def limit_settings(limits: LimitsSection) -> LimitSettings:
    return LimitSettings(
        sender_rate=limits.sender_rate_per_second,
        sender_burst=limits.sender_burst,
        sender_concurrency=limits.sender_concurrency,
        unauthenticated_rate=limits.unauthenticated_rate_per_second,
        unauthenticated_burst=limits.unauthenticated_burst,
    )
