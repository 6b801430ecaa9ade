"""Token buckets and in-flight caps (gateway.ratelimit), driven by a fake monotonic clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import TooManyRequests
from gateway.ratelimit import LimitSettings, SenderLimiter, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(clock: FakeClock, **kw: float) -> SenderLimiter:
    settings = LimitSettings(
        sender_rate=kw.get("rate", 10.0),
        sender_burst=int(kw.get("burst", 5)),
        sender_concurrency=int(kw.get("concurrency", 100)),
        unauthenticated_rate=kw.get("unauth_rate", 2.0),
        unauthenticated_burst=int(kw.get("unauth_burst", 3)),
    )
    return SenderLimiter(settings, clock=clock)


def test_burst_then_refusal_with_retry_after() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    for _ in range(5):
        lim.admit("ncb-fr").release()
    with pytest.raises(TooManyRequests) as info:
        lim.admit("ncb-fr")
    assert info.value.status == 429
    assert info.value.headers == {"Retry-After": "1"}
    assert "ncb-fr" in info.value.detail and "10 requests a second" in info.value.detail
    clock.now += 0.1  # one token back at 10/s
    lim.admit("ncb-fr").release()


def test_senders_have_separate_buckets() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    for _ in range(5):
        lim.admit("ncb-fr").release()
    with pytest.raises(TooManyRequests):
        lim.admit("ncb-fr")
    lim.admit("ae-moi").release()  # untouched by ncb-fr's flood


def test_unauthenticated_bucket_is_shared_and_apart() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    assert [lim.charge_unauthenticated() for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = lim.charge_unauthenticated()
    assert wait == pytest.approx(0.5)  # 2 tokens a second
    lim.admit("ncb-fr").release()  # senders keep their budget


def test_concurrency_cap_and_release() -> None:
    clock = FakeClock()
    lim = limiter(clock, rate=0, concurrency=2)
    first, second = lim.admit("ipsg"), lim.admit("ipsg")
    with pytest.raises(TooManyRequests) as info:
        lim.admit("ipsg")
    assert "2 requests in flight" in info.value.detail
    first.release()
    first.release()  # releasing twice frees one slot only
    third = lim.admit("ipsg")
    assert lim.in_flight("ipsg") == 2
    second.release()
    third.release()
    assert lim.in_flight("ipsg") == 0


def test_rate_zero_means_no_limit() -> None:
    clock = FakeClock()
    lim = limiter(clock, rate=0, unauth_rate=0)
    for _ in range(10_000):
        lim.admit("ipsg").release()
        assert lim.charge_unauthenticated() == 0.0


def test_reconfiguring_refills() -> None:
    clock = FakeClock()
    lim = limiter(clock, burst=1)
    lim.admit("ipsg").release()
    with pytest.raises(TooManyRequests):
        lim.admit("ipsg")
    lim.configure(LimitSettings(10.0, 2, 100, 2.0, 3))
    lim.admit("ipsg").release()


@given(
    rate=st.floats(0.5, 1000),
    burst=st.integers(1, 200),
    gaps=st.lists(st.floats(0, 2), min_size=1, max_size=300),
)
def test_bucket_never_grants_more_than_burst_plus_rate_times_time(
    rate: float, burst: int, gaps: list[float]
) -> None:
    bucket = TokenBucket(rate, float(burst), float(burst), 0.0)
    now, granted = 0.0, 0
    for gap in gaps:
        now += gap
        wait = bucket.take(now)
        assert wait >= 0
        if wait == 0:
            granted += 1
        assert granted <= burst + rate * now + 1e-6
