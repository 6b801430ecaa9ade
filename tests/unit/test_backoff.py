"""gateway.backoff: full-jitter bounds, Retry-After forms, classification, breaker states."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.backoff import (
    BreakerState,
    CircuitBreaker,
    Delivered,
    Retry,
    Stop,
    classify,
    compute_backoff,
    retry_after_seconds,
    should_dead_letter,
)

NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


@given(
    attempt=st.integers(min_value=1, max_value=5000),
    base=st.floats(min_value=0.001, max_value=10),
    factor=st.floats(min_value=1, max_value=10),
    cap=st.floats(min_value=0.01, max_value=3600),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_backoff_within_full_jitter_bounds(
    attempt: int, base: float, factor: float, cap: float, seed: int
) -> None:
    delay = compute_backoff(attempt, base=base, factor=factor, cap=cap, jitter=random.Random(seed))
    try:
        exponential = base * factor ** (attempt - 1)
    except OverflowError:
        exponential = float("inf")
    assert 0.0 <= delay <= min(cap, exponential) * (1 + 1e-12)


def test_backoff_grows_then_caps() -> None:
    rng = random.Random(7)
    # the mean of uniform(0, c) is c/2: averages over many draws show the ceiling
    means = [
        sum(compute_backoff(n, base=1, factor=2, cap=30, jitter=rng) for _ in range(4000)) / 4000
        for n in (1, 2, 3, 4, 5, 6, 10)
    ]
    for got, ceiling in zip(means, (1, 2, 4, 8, 16, 30, 30), strict=True):
        assert got == pytest.approx(ceiling / 2, rel=0.08)


def test_backoff_is_jittered_and_reproducible() -> None:
    a = [compute_backoff(5, jitter=random.Random(1)) for _ in range(3)]
    b = [compute_backoff(5, jitter=random.Random(1)) for _ in range(3)]
    assert a == b
    rng = random.Random(2)
    assert len({compute_backoff(5, jitter=rng) for _ in range(20)}) == 20


def test_backoff_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="attempt is 0"):
        compute_backoff(0, jitter=random.Random())
    with pytest.raises(ValueError, match="factor"):
        compute_backoff(1, factor=0.5, jitter=random.Random())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Sun, 01 Mar 2026 12:00:30 GMT", 30.0),  # IMF-fixdate
        ("Sunday, 01-Mar-26 12:01:00 GMT", 60.0),  # obsolete RFC 850
        ("Sun Mar  1 12:00:05 2026", 5.0),  # obsolete asctime
        ("Sun, 01 Mar 2026 11:00:00 GMT", 0.0),  # in the past
        (None, None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("Sun, 01 Mar 2026 12:00:30 CET", None),
    ],
)
def test_retry_after_forms(value: str | None, expected: float | None) -> None:
    assert retry_after_seconds(value, NOW) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, Retry),
        (200, Delivered),
        (202, Delivered),
        (204, Delivered),
        (500, Retry),
        (502, Retry),
        (503, Retry),
        (429, Retry),
        (408, Retry),
        (400, Stop),
        (401, Stop),
        (403, Stop),
        (404, Stop),
        (409, Stop),
        (413, Stop),
        (422, Stop),
        (301, Stop),
        (308, Stop),
    ],
)
def test_classify(status: int | None, expected: type) -> None:
    assert isinstance(classify(status), expected)


def test_classify_says_why() -> None:
    assert classify(None) == Retry("network error")
    assert "redirects are not followed" in classify(302).reason  # type: ignore[union-attr]


def test_dead_letter_by_attempts_or_age() -> None:
    queued = NOW - dt.timedelta(seconds=100)
    assert not should_dead_letter(3, queued, NOW, 4, 600)
    assert should_dead_letter(4, queued, NOW, 4, 600)
    assert should_dead_letter(1, queued, NOW, 4, 100)
    assert not should_dead_letter(1, queued, NOW, 4, dt.timedelta(seconds=101))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_threshold_consecutive_failures() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, cooldown=10, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # resets the count: failures must be consecutive
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    assert breaker.retry_at() == 1010.0


def test_breaker_half_open_lets_one_probe_through() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown=10, clock=clock)
    breaker.record_failure()
    clock.now += 9.9
    assert not breaker.allow()
    clock.now += 0.1
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # only one
    assert not breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert all(breaker.allow() for _ in range(5))


def test_breaker_failed_probe_opens_for_another_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=2, cooldown=5, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    clock.now += 5
    assert breaker.allow()
    clock.now += 1
    breaker.record_failure()  # one failed probe is enough, whatever the threshold
    assert breaker.state is BreakerState.OPEN
    assert breaker.retry_at() == clock.now + 5
    assert not breaker.allow()
    clock.now += 5
    assert breaker.allow()


def test_breaker_refuses_bad_settings() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=0, cooldown=1, clock=FakeClock())
