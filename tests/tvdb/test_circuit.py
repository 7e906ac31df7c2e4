from datetime import timedelta

from tvdb.circuit import ALLOWED, CLOSED, HALF_OPEN, HEALTHY, OPEN, CircuitBreaker


def test_opens_after_repeated_failures_and_half_opens_for_one_probe(sessions, database_url):
    breaker = CircuitBreaker(database_url, "openai", failure_threshold=3, cooldown=timedelta(seconds=0))
    assert breaker.allow() == HEALTHY
    for _ in range(2):
        breaker.record_failure("HTTP 500")
    assert breaker.state() == CLOSED and breaker.allow() == ALLOWED  # the next success must reset the count
    breaker.record_failure("HTTP 500")
    assert breaker.state() == OPEN
    other_process = CircuitBreaker(database_url, "openai", failure_threshold=3, cooldown=timedelta(hours=1))
    assert not other_process.allow()  # shared state: still in its cool-down for this caller
    assert breaker.allow()  # cool-down over: the probe
    assert breaker.state() == HALF_OPEN
    assert not other_process.allow()  # only one probe
    breaker.record_success()
    assert breaker.state() == CLOSED and other_process.allow() == HEALTHY


def test_a_failed_probe_opens_again_and_fatal_failures_open_at_once(sessions, database_url):
    breaker = CircuitBreaker(database_url, "llamaparse", failure_threshold=5, cooldown=timedelta(seconds=0))
    breaker.record_failure("402 out of credits", fatal=True)
    assert breaker.state() == OPEN
    assert breaker.allow()
    breaker.record_failure("still failing")
    assert breaker.state() == OPEN
