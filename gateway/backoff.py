"""Delivery retry policy and the per-recipient circuit breaker: pure, no I/O.

api.md (Recipients): retry with exponential backoff and jitter on network errors, 5xx and
429 (honouring Retry-After); stop at once on other 4xx; dead-letter after a configured
number of attempts or age. The worker (gateway.delivery) asks these functions what to do;
they never sleep, read a clock of their own or touch the network.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "Decision",
    "Delivered",
    "Retry",
    "Stop",
    "classify",
    "compute_backoff",
    "retry_after_seconds",
    "should_dead_letter",
]


# ---- backoff ------------------------------------------------------------------------------


def compute_backoff(
    attempt: int,
    *,
    base: float = 0.5,
    factor: float = 2.0,
    cap: float = 300.0,
    jitter: random.Random,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    "Full jitter": uniform over [0, min(cap, base * factor ** (attempt - 1))], so many
    deliveries that failed together do not come back together.
    """
    if attempt < 1:
        raise ValueError(f"backoff: attempt is {attempt}, expected 1 or more")
    if base <= 0 or factor < 1 or cap <= 0:
        raise ValueError(
            f"backoff: need base > 0, factor >= 1, cap > 0; got base={base}, "
            f"factor={factor}, cap={cap}"
        )
    # Compare exponents in log space: factor ** attempt overflows a float near 1024 tries.
    exponent = attempt - 1
    if factor == 1 or exponent * math.log(factor) < math.log(cap / base):
        ceiling = min(cap, base * factor**exponent)
    else:
        ceiling = cap
    return jitter.uniform(0.0, ceiling)


# RFC 9110 §5.6.7: IMF-fixdate, and the two obsolete forms a recipient MUST accept.
_DELTA = re.compile(r"[0-9]+")
_DATE_FORMATS = (
    "%a, %d %b %Y %H:%M:%S GMT",  # IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    "%A, %d-%b-%y %H:%M:%S GMT",  # rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT
    "%a %b %d %H:%M:%S %Y",  # asctime-date: Sun Nov  6 08:49:37 1994
)


def retry_after_seconds(header_value: str | None, now: dt.datetime) -> float | None:
    """RFC 9110 §10.2.3 Retry-After: delta-seconds or an HTTP-date, as seconds from ``now``.

    None when the field is absent or unreadable (the caller falls back to its backoff); a
    date in the past gives 0.
    """
    if header_value is None:
        return None
    text = header_value.strip()
    if _DELTA.fullmatch(text):
        return float(int(text))
    for fmt in _DATE_FORMATS:
        try:
            parsed = dt.datetime.strptime(" ".join(text.split()), " ".join(fmt.split()))
        except ValueError:
            continue
        if fmt.startswith("%A") and parsed.year > now.year + 50:
            # §5.6.7: a two-digit year more than 50 years ahead is in the past century.
            parsed = parsed.replace(year=parsed.year - 100)
        return max(0.0, (parsed.replace(tzinfo=dt.UTC) - now).total_seconds())
    return None


# ---- classification ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delivered:
    """2xx: the recipient took the message."""

    reason: str = "accepted"


@dataclass(frozen=True, slots=True)
class Retry:
    """A transient failure: try again later."""

    reason: str


@dataclass(frozen=True, slots=True)
class Stop:
    """A final refusal: dead-letter now, keeping the recipient's answer."""

    reason: str


Decision = Delivered | Retry | Stop

_RETRYABLE_4XX = frozenset({408, 429})  # Request Timeout, Too Many Requests


def classify(status_code: int | None) -> Decision:
    """What an attempt's outcome means. ``None`` is a network error (no answer at all)."""
    if status_code is None:
        return Retry("network error")
    if 200 <= status_code < 300:
        return Delivered()
    if status_code >= 500:
        return Retry(f"recipient answered {status_code}")
    if status_code in _RETRYABLE_4XX:
        return Retry(f"recipient answered {status_code}")
    if 400 <= status_code < 500:
        return Stop(f"recipient refused with {status_code}")
    # 1xx as a final answer or a 3xx: redirects are not followed; the endpoint is misconfigured.
    return Stop(f"recipient answered {status_code}; expected 2xx (redirects are not followed)")


def should_dead_letter(
    attempts: int,
    first_queued_at: dt.datetime,
    now: dt.datetime,
    max_attempts: int,
    max_age: dt.timedelta | float,
) -> bool:
    """True once ``attempts`` failed attempts reach ``max_attempts`` or the delivery is older
    than ``max_age`` (seconds or a timedelta), counted from when it was queued."""
    age_limit = max_age if isinstance(max_age, dt.timedelta) else dt.timedelta(seconds=max_age)
    return attempts >= max_attempts or now - first_queued_at >= age_limit


# ---- circuit breaker -----------------------------------------------------------------------


class BreakerState(StrEnum):
    CLOSED = "closed"  # attempts flow
    OPEN = "open"  # recipient is failing: no attempts until the cool-down ends
    HALF_OPEN = "half_open"  # cool-down over: one probe attempt decides


class CircuitBreaker:
    """Per-recipient breaker: closed → open after ``failure_threshold`` consecutive failures
    → half-open after ``cooldown`` seconds, where exactly one probe is let through: its
    success closes the breaker, its failure opens it for another cool-down.

    ``clock`` returns seconds (any epoch, monotonic within one breaker); it is injected so
    tests step time by hand.
    """

    __slots__ = ("_clock", "_failures", "_opened_at", "_probing", "cooldown", "failure_threshold")

    def __init__(
        self, *, failure_threshold: int = 5, cooldown: float = 30.0, clock: Callable[[], float]
    ) -> None:
        if failure_threshold < 1 or cooldown <= 0:
            raise ValueError(
                f"circuit breaker: need failure_threshold >= 1 and cooldown > 0; got "
                f"{failure_threshold} and {cooldown}"
            )
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._probing or self._clock() >= self._opened_at + self.cooldown:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def allow(self) -> bool:
        """May an attempt start now? In half-open, True once (the probe) until it reports."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def retry_at(self) -> float | None:
        """When an attempt may next be allowed (clock seconds); None when closed. While a
        probe is in flight this is now: the caller decides how long to wait for it."""
        if self._opened_at is None:
            return None
        if self._probing:
            return self._clock()
        return self._opened_at + self.cooldown

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._probing or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()
        self._probing = False
