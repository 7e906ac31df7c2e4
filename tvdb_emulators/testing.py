"""Pytest fixtures: one emulator server per test session, reset before every test.

Load them with ``pytest_plugins = ["tvdb_emulators.testing"]`` in the root conftest, or with
``from tvdb_emulators.testing import *  # noqa: F401,F403`` in any conftest (the session-scoped ``*_server``
fixtures must come along, which the star import does). Each of ``openai_emulator``, ``llamaparse_emulator`` and
``supabase_emulator`` yields a ``RunningEmulator``: ``.base_url`` for the SDK, ``.emulator`` for knobs and billing.
A test that turns knobs needs no cleanup: the next test starts from the start-up knobs, an empty ledger and store.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import RunningEmulator, start

__all__ = [
    "OPENAI_TEST_KEY", "LLAMAPARSE_TEST_KEY", "SUPABASE_TEST_KEY",
    "openai_emulator_server", "llamaparse_emulator_server", "supabase_emulator_server",
    "openai_emulator", "llamaparse_emulator", "supabase_emulator",
]

OPENAI_TEST_KEY = "sk-emulator-test"
LLAMAPARSE_TEST_KEY = "llx-emulator-test"
SUPABASE_TEST_KEY = "supabase-emulator-test"


def _session_server(kind: str, **knobs: object) -> Iterator[RunningEmulator]:
    running = start(kind, **knobs)
    try:
        yield running
    finally:
        running.stop()


def _fresh(running: RunningEmulator) -> RunningEmulator:
    running.emulator.wait_idle()  # a request the last test gave up on must not bill into this one
    running.emulator.reset()
    return running


@pytest.fixture(scope="session")
def openai_emulator_server() -> Iterator[RunningEmulator]:
    yield from _session_server("openai", api_key=OPENAI_TEST_KEY)


@pytest.fixture(scope="session")
def llamaparse_emulator_server() -> Iterator[RunningEmulator]:
    # Short job phases so that a poll a few tens of milliseconds after creation sees the result.
    yield from _session_server("llamaparse", api_key=LLAMAPARSE_TEST_KEY, job_pending_ms=20, job_running_ms=40)


@pytest.fixture(scope="session")
def supabase_emulator_server() -> Iterator[RunningEmulator]:
    yield from _session_server("supabase", api_key=SUPABASE_TEST_KEY)


@pytest.fixture
def openai_emulator(openai_emulator_server: RunningEmulator) -> RunningEmulator:
    return _fresh(openai_emulator_server)


@pytest.fixture
def llamaparse_emulator(llamaparse_emulator_server: RunningEmulator) -> RunningEmulator:
    return _fresh(llamaparse_emulator_server)


@pytest.fixture
def supabase_emulator(supabase_emulator_server: RunningEmulator) -> RunningEmulator:
    return _fresh(supabase_emulator_server)
