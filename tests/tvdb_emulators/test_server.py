"""The threaded runner: free ports, clean stops, and hung requests that do not block shutdown."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tvdb_emulators.server import EMULATORS, start, start_llamaparse, start_openai, start_supabase


def test_port_zero_gives_distinct_free_ports_and_stop_frees_them():
    with start_openai() as a, start_openai() as b:
        assert a.port != b.port and a.port > 0
        assert a.base_url == f"http://127.0.0.1:{a.port}/v1"
        assert httpx.get(a.url + "/_emulator/routes").json()["emulator"] == "openai"
    with pytest.raises(httpx.ConnectError):
        httpx.get(a.url + "/_emulator/routes", timeout=1)


def test_base_urls_are_what_each_sdk_takes():
    with start_llamaparse() as parse, start_supabase() as storage:
        assert parse.base_url == parse.url and storage.base_url == storage.url


def test_start_up_knobs_reach_the_emulator():
    with start("openai", latency_ms=5, seed=3, api_key="sk-x") as running:
        config = httpx.get(running.url + "/_emulator/config").json()
        assert (config["latency_ms"], config["seed"], config["api_key"]) == (5, 3, "***")
    assert set(EMULATORS) == {"openai", "llamaparse", "supabase"}


def test_stop_releases_a_hung_request():
    running = start_openai(api_key="k", next_faults=["timeout"], hang_s=60)
    outcome: dict[str, object] = {}

    def call() -> None:
        try:
            outcome["status"] = httpx.post(running.base_url + "/embeddings", timeout=30,
                                           headers={"Authorization": "Bearer k"},
                                           json={"model": "text-embedding-3-small", "input": "x"}).status_code
        except httpx.HTTPError as exc:
            outcome["error"] = type(exc).__name__

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.2)
    started = time.monotonic()
    running.stop()
    caller.join(10)
    assert time.monotonic() - started < 5 and not caller.is_alive()
    assert outcome  # answered or cut off, but not left hanging
