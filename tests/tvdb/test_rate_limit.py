import threading
import time

import pytest

from tvdb.rate_limit import RateLimiter, RateLimitTimeout


@pytest.fixture
def limiter_sessions(database_url, tvdb_env):
    return database_url


def test_a_full_bucket_admits_its_capacity_then_makes_callers_wait(limiter_sessions):
    limiter = RateLimiter(limiter_sessions, "openai", {"requests": 120})  # a burst of 120, then 2 per second
    assert limiter.acquire(requests=120) == 0.0  # the whole burst in one take
    started = time.monotonic()
    waited = limiter.acquire(requests=2)
    assert 0.7 <= waited <= 1.0 and time.monotonic() - started >= 0.7


def test_tokens_are_limited_with_requests(limiter_sessions):
    limiter = RateLimiter(limiter_sessions, "openai", {"requests": 6000, "tokens": 6000})  # 100 tokens/s
    assert limiter.acquire(tokens=6000) == 0.0
    with pytest.raises(RateLimitTimeout):
        limiter.acquire(tokens=1000, max_wait=1.0)  # needs 10 s


def test_the_limit_is_shared_across_threads_and_connections(limiter_sessions):
    limiter = RateLimiter(limiter_sessions, "llamaparse", {"requests": 130})  # a burst of 130, then 130/60 per second
    admitted = []

    def worker():
        for _ in range(20):
            limiter.acquire(max_wait=30)
            admitted.append(time.monotonic())

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    assert len(admitted) == 140
    # The token bucket's invariant: never more admitted than the burst plus what the rate refilled meanwhile.
    assert len(admitted) <= 130 + (130 / 60) * elapsed + 1
    assert elapsed > 2.0
