"""The shared fault knobs, seen through the OpenAI SDK (the same pipeline serves all three emulators)."""

from __future__ import annotations

import json
import time

import openai
import pytest

from tvdb.tokens import count_tokens
from tvdb_emulators.faults import FaultInjector, outage_remaining
from tvdb_emulators.knobs import Knobs

SMALL = "text-embedding-3-small"


def embed(client, text="hello world"):
    return client.embeddings.create(model=SMALL, input=text)


def billed(emulator) -> int:
    return emulator.emulator.billing()["totals"]["tokens"]


def test_scripted_429_retry_after_is_honoured_by_the_sdk(openai_client, openai_emulator):
    openai_emulator.emulator.configure(next_faults=["rate_limit"], injected_retry_after_ms=700)

    embed(openai_client(max_retries=1))

    first, second = openai_emulator.emulator.requests()
    assert (first["status"], first["fault"], first["retry_count"]) == (429, "rate_limit", "0")
    assert (second["status"], second["retry_count"]) == (200, "1")
    # The SDK's own first backoff is at most 0.5 s: a gap of 0.7 s or more means it followed the header.
    assert second["at"] - first["at"] >= 0.69
    assert billed(openai_emulator) == count_tokens("hello world")  # the 429 was not billed


def test_scripted_429_carries_both_retry_headers(openai_client, openai_emulator):
    openai_emulator.emulator.configure(next_faults=["rate_limit"], injected_retry_after_ms=700)

    with pytest.raises(openai.RateLimitError) as caught:
        embed(openai_client())
    headers = caught.value.response.headers
    assert (headers["retry-after-ms"], headers["retry-after"]) == ("700", "1")
    assert caught.value.code == "rate_limit_exceeded"


def test_request_rate_limit_is_a_429_with_retry_after_until_the_bucket_refills(openai_client, openai_emulator):
    emulator = openai_emulator.emulator
    emulator.configure(rate_limit_requests=2)  # per 60 s window, refilling one request every 30 s
    client = openai_client()
    embed(client)
    embed(client)

    with pytest.raises(openai.RateLimitError) as caught:
        embed(client)
    headers = caught.value.response.headers
    assert caught.value.code == "rate_limit_exceeded" and caught.value.type == "requests"
    assert 29_000 <= int(headers["retry-after-ms"]) <= 30_000 and headers["retry-after"] == "30"
    assert headers["x-ratelimit-remaining-requests"] == "0" and headers["x-ratelimit-limit-requests"] == "2"

    emulator.clock.advance(30)
    embed(client)
    assert billed(openai_emulator) == 3 * count_tokens("hello world")


def test_sdk_does_not_retry_a_retry_after_beyond_two_minutes(openai_client, openai_emulator):
    openai_emulator.emulator.configure(rate_limit_requests=1, rate_limit_window_s=600)
    client = openai_client(max_retries=2)
    embed(client)

    with pytest.raises(openai.RateLimitError) as caught:
        embed(client)
    assert int(caught.value.response.headers["retry-after"]) > 120
    assert [r["status"] for r in openai_emulator.emulator.requests()] == [200, 429]  # no retry was made


def test_token_rate_limit_refuses_a_request_that_can_never_fit(openai_client, openai_emulator):
    openai_emulator.emulator.configure(rate_limit_tokens=5)
    client = openai_client()

    with pytest.raises(openai.RateLimitError) as caught:
        embed(client, "one two three four five six seven")
    assert caught.value.type == "tokens" and "Request too large" in caught.value.message
    assert "retry-after" not in caught.value.response.headers
    assert embed(client, "one two").usage.total_tokens == 2


def test_outage_window_answers_503_then_ends(openai_client, openai_emulator):
    openai_emulator.emulator.configure(outage_for_s=30)
    client = openai_client()

    with pytest.raises(openai.InternalServerError) as caught:
        embed(client)
    assert caught.value.status_code == 503
    openai_emulator.emulator.clock.advance(30)
    embed(client)
    assert billed(openai_emulator) == count_tokens("hello world")


def test_sdk_retries_a_503_and_a_500(openai_client, openai_emulator):
    openai_emulator.emulator.configure(next_faults=["outage", "server_error"])

    embed(openai_client(max_retries=2))

    assert [r["status"] for r in openai_emulator.emulator.requests()] == [503, 500, 200]
    assert billed(openai_emulator) == count_tokens("hello world")


def test_error_rate_one_is_always_500_and_never_billed(openai_client, openai_emulator):
    openai_emulator.emulator.configure(error_rate=1.0)

    with pytest.raises(openai.InternalServerError) as caught:
        embed(openai_client())
    assert caught.value.status_code == 500 and caught.value.type == "server_error"
    assert billed(openai_emulator) == 0


def test_fault_routes_limit_faults_to_the_named_routes(openai_client, openai_emulator):
    openai_emulator.emulator.configure(error_rate=1.0, fault_routes=["embeddings"])
    client = openai_client()

    assert len(client.models.list().data) == 3
    with pytest.raises(openai.InternalServerError):
        embed(client)


def test_insufficient_quota_is_a_429_with_its_own_code(openai_client, openai_emulator):
    openai_emulator.emulator.configure(insufficient_quota=True)

    with pytest.raises(openai.RateLimitError) as caught:
        embed(openai_client())
    assert caught.value.code == "insufficient_quota" and caught.value.type == "insufficient_quota"
    assert billed(openai_emulator) == 0


def test_quota_cap_bills_up_to_the_cap_and_refuses_past_it(openai_client, openai_emulator):
    text = "alpha beta gamma"
    tokens = count_tokens(text)
    openai_emulator.emulator.configure(quota=tokens * 2 + 1)
    client = openai_client()
    embed(client, text)
    embed(client, text)

    with pytest.raises(openai.RateLimitError) as caught:
        embed(client, text)
    assert caught.value.code == "insufficient_quota"
    assert billed(openai_emulator) == tokens * 2


@pytest.mark.parametrize("mode", ["truncated_json", "empty"])
def test_malformed_body_fails_in_the_sdk_but_was_billed(openai_client, openai_emulator, mode):
    openai_emulator.emulator.configure(next_faults=["malformed"], malformed_mode=mode)

    # The SDK does not wrap a body it cannot decode: the product sees json's ValueError, not an OpenAIError.
    with pytest.raises(json.JSONDecodeError):
        embed(openai_client())
    (row,) = openai_emulator.emulator.billing()["rows"]
    assert row["delivery"] == "malformed" and row["tokens"] == count_tokens("hello world")


def test_html_error_page_body_is_not_an_embedding(openai_client, openai_emulator):
    openai_emulator.emulator.configure(next_faults=["malformed"], malformed_mode="not_json")

    with pytest.raises(Exception) as caught:  # the SDK hands a str to its base64 post-parser
        embed(openai_client())
    assert not isinstance(caught.value, openai.APIStatusError)


def deliveries(running) -> list[str]:
    return [row["delivery"] for row in running.emulator.billing()["rows"]]


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_timeout_after_processing_is_billed_though_the_client_gave_up(openai_client, openai_emulator):
    openai_emulator.emulator.configure(next_faults=["timeout"])

    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        embed(openai_client(timeout=0.3))
    assert time.monotonic() - started < 5  # the client's timeout, not the emulator's 600 s hang

    wait_for(lambda: deliveries(openai_emulator) == ["timeout"])
    assert billed(openai_emulator) == count_tokens("hello world")


def test_timeout_before_processing_is_not_billed(openai_client, openai_emulator):
    openai_emulator.emulator.configure(next_faults=["timeout", "timeout"], timeout_phase="before_processing",
                                       hang_s=0.2)
    with pytest.raises(openai.APITimeoutError):
        embed(openai_client(timeout=0.1))
    with pytest.raises(openai.InternalServerError) as caught:  # a client that outwaits hang_s gets a 504
        embed(openai_client(timeout=2))
    assert caught.value.status_code == 504
    assert billed(openai_emulator) == 0


def test_sdk_retry_after_a_timeout_bills_twice(openai_client, openai_emulator):
    """The reason a product that counts only its successful calls under-reports: the provider billed both."""
    openai_emulator.emulator.configure(next_faults=["timeout"])

    embed(openai_client(timeout=0.5, max_retries=1))

    wait_for(lambda: deliveries(openai_emulator) == ["timeout", "ok"])
    assert billed(openai_emulator) == 2 * count_tokens("hello world")


def test_latency_is_added(openai_client, openai_emulator):
    openai_emulator.emulator.configure(latency_ms=200)
    started = time.monotonic()
    embed(openai_client())
    assert time.monotonic() - started >= 0.2


def fates(emulator, client, n=24):
    outcomes = []
    for _ in range(n):
        try:
            embed(client)
            outcomes.append("ok")
        except openai.InternalServerError:
            outcomes.append("500")
    return outcomes


def test_faults_repeat_under_the_same_seed(openai_client, openai_emulator):
    emulator = openai_emulator.emulator
    emulator.configure(seed=7, error_rate=0.5)
    first = fates(emulator, openai_client())
    first_ids = [r["request_id"] for r in emulator.requests()]
    emulator.reset(keep_knobs=True)
    second = fates(emulator, openai_client())

    assert first == second
    assert first_ids == [r["request_id"] for r in emulator.requests()]
    assert 0 < first.count("500") < len(first)
    emulator.configure(seed=8)
    assert fates(emulator, openai_client()) != first


def test_each_request_draws_once_whatever_the_rates():
    """Changing one rate must not reshuffle which requests the other faults hit."""
    low = Knobs(seed=3, error_rate=0.1)
    both = Knobs(seed=3, error_rate=0.1, malformed_rate=0.3)
    a, b = FaultInjector(3), FaultInjector(3)
    draws_a = [a.draw(low, "r") for _ in range(200)]
    draws_b = [b.draw(both, "r") for _ in range(200)]

    assert [i for i, k in enumerate(draws_a) if k == "server_error"] == \
           [i for i, k in enumerate(draws_b) if k == "server_error"]
    assert "malformed" in draws_b and "malformed" not in draws_a


def test_scripted_faults_come_first_and_in_order():
    injector = FaultInjector(0)
    injector.script(["timeout", "ok", "server_error"])
    knobs = Knobs(error_rate=0.0)
    assert [injector.draw(knobs, "r") for _ in range(4)] == ["timeout", "ok", "server_error", "ok"]


def test_outage_windows_are_half_open():
    knobs = Knobs(outage_windows=[(10.0, 12.0)])
    assert outage_remaining(knobs, 9.99) is None
    assert outage_remaining(knobs, 10.0) == pytest.approx(2.0)
    assert outage_remaining(knobs, 12.0) is None
