"""Token buckets and the header formats OpenAI uses."""

from __future__ import annotations

import pytest

from tvdb_emulators.ratelimit import RateLimiter, go_duration


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (0.012, "12ms"), (0.0125, "12.5ms"), (1.5, "1.5s"),
                                           (17.28, "17.28s"), (360, "6m0s"), (3725, "1h2m5s")])
def test_go_duration(seconds, text):
    assert go_duration(seconds) == text


def test_requests_refill_continuously():
    clock = FakeClock()
    limiter = RateLimiter(requests=2, tokens=None, window_s=1.0, now=clock)
    assert limiter.acquire().allowed and limiter.acquire().allowed

    refused = limiter.acquire()
    assert not refused.allowed and refused.limited_by == "requests"
    assert refused.retry_after_s == pytest.approx(0.5)
    assert refused.retry_headers() == {"retry-after": "1", "retry-after-ms": "500"}
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.headers["x-ratelimit-reset-requests"] == "1s"

    clock.t = 0.5
    assert limiter.acquire().allowed


def test_a_refused_request_takes_nothing_from_either_bucket():
    clock = FakeClock()
    limiter = RateLimiter(requests=10, tokens=100, window_s=60, now=clock)
    assert limiter.acquire(90).allowed

    refused = limiter.acquire(20)
    assert refused.limited_by == "tokens" and refused.used == 90 and refused.requested == 20
    assert refused.headers["x-ratelimit-remaining-requests"] == "9"
    assert limiter.acquire(10).headers["x-ratelimit-remaining-tokens"] == "0"


def test_more_than_the_limit_can_never_fit():
    limiter = RateLimiter(requests=None, tokens=100, window_s=60, now=FakeClock())
    decision = limiter.acquire(101)
    assert not decision.allowed and decision.retry_after_s is None and decision.retry_headers() == {}


def test_no_limits_no_headers():
    decision = RateLimiter(requests=None, tokens=None, window_s=60, now=FakeClock()).acquire(10**9)
    assert decision.allowed and decision.headers == {}
