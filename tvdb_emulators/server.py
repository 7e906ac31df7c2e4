"""Run an emulator on a loopback port in a background thread (tests, the ``tvdb emulate`` command).

``port=0`` binds a free port first and hands the bound socket to uvicorn, so the URL is known before the server
thread starts and two test sessions never race for a port.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn

from .base import Emulator
from .llamaparse_emulator import LlamaParseEmulator
from .openai_emulator import OpenAIEmulator
from .supabase_emulator import SupabaseEmulator

EMULATORS: dict[str, type[Emulator]] = {
    "openai": OpenAIEmulator,
    "llamaparse": LlamaParseEmulator,
    "supabase": SupabaseEmulator,
}


@dataclass
class RunningEmulator:
    """A started emulator. ``base_url`` is what the SDK takes; ``url`` is the server root (admin API under it)."""

    emulator: Emulator
    host: str
    port: int
    _server: uvicorn.Server
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url + self.emulator.api_prefix

    def stop(self, timeout: float = 5.0) -> None:
        self.emulator.closing = True
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(emulator: Emulator, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 10.0
          ) -> RunningEmulator:
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on sockets that say they are TCP, and without it
    # every keep-alive request waits out a 40 ms delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(
        emulator.app, log_level="warning", access_log=False, lifespan="off", loop="asyncio",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"{emulator.name}-emulator")
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"the {emulator.name} emulator did not start on {host}:{port}")
        time.sleep(0.01)
    return RunningEmulator(emulator, host, sock.getsockname()[1], server, thread)


def start(kind: str, port: int = 0, host: str = "127.0.0.1", **knobs: Any) -> RunningEmulator:
    """Start the emulator ``kind`` (openai | llamaparse | supabase) with start-up ``knobs``."""
    return serve(EMULATORS[kind](**knobs), host, port)


def start_openai(port: int = 0, host: str = "127.0.0.1", **knobs: Any) -> RunningEmulator:
    return start("openai", port, host, **knobs)


def start_llamaparse(port: int = 0, host: str = "127.0.0.1", **knobs: Any) -> RunningEmulator:
    return start("llamaparse", port, host, **knobs)


def start_supabase(port: int = 0, host: str = "127.0.0.1", **knobs: Any) -> RunningEmulator:
    return start("supabase", port, host, **knobs)
