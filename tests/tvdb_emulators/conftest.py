"""Emulator servers (one per session, reset per test) and SDK clients pointed at them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from llama_cloud import LlamaCloud
from supabase import Client, create_client

from tvdb_emulators.server import RunningEmulator
from tvdb_emulators.testing import LLAMAPARSE_TEST_KEY, OPENAI_TEST_KEY, SUPABASE_TEST_KEY


@pytest.fixture
def openai_client(openai_emulator: RunningEmulator) -> Callable[..., openai.OpenAI]:
    """A factory: ``openai_client(max_retries=2, timeout=...)``; no retries unless asked, to keep tests fast."""

    def make(**options: Any) -> openai.OpenAI:
        options = {"api_key": OPENAI_TEST_KEY, "max_retries": 0, **options}
        return openai.OpenAI(base_url=openai_emulator.base_url, **options)

    return make


@pytest.fixture
def llama_client(llamaparse_emulator: RunningEmulator) -> Callable[..., LlamaCloud]:
    def make(**options: Any) -> LlamaCloud:
        options = {"api_key": LLAMAPARSE_TEST_KEY, "max_retries": 0, **options}
        return LlamaCloud(base_url=llamaparse_emulator.base_url, **options)

    return make


@pytest.fixture
def supabase_client(supabase_emulator: RunningEmulator) -> Client:
    return create_client(supabase_emulator.base_url, SUPABASE_TEST_KEY)


@pytest.fixture
def admin() -> Callable[..., httpx.Response]:
    """Plain HTTP to an emulator's admin API: ``admin(running, "POST", "/_emulator/config", json={...})``."""

    def call(running: RunningEmulator, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, running.url + path, timeout=5, **kwargs)

    return call
