"""What every paid client is configured with, and the per-process SDK client cache."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any

from dagster import ConfigurableResource
from pydantic import Field

from tvdb.rate_limit import RateLimiter
from tvdb.reservations import Reservations

from .metering import Meter

_clients: dict[tuple, Any] = {}
_clients_lock = threading.Lock()


class PaidServiceSettings(ConfigurableResource):
    api_key: str | None = Field(default=None, description="pass EnvVar(...): never a literal")
    base_url: str | None = None
    timeout_seconds: float = 120.0
    max_in_flight: int = 4
    requests_per_minute: int = 0  # 0: no shared request limit
    tokens_per_minute: int = 0  # 0: no shared token limit

    def meter(self, database_url: str, service: str) -> Meter:
        limits = {m: n for m, n in (("requests", self.requests_per_minute), ("tokens", self.tokens_per_minute)) if n}
        return Meter(Reservations(database_url), RateLimiter(database_url, service, limits))

    def _shared(self, kind: str, build: Callable[[], Any]) -> Any:
        fingerprint = hashlib.sha256((self.api_key or "").encode()).hexdigest()
        cache_key = (kind, type(self).__name__, self.base_url, fingerprint, self.timeout_seconds)
        with _clients_lock:
            if cache_key not in _clients:
                _clients[cache_key] = build()
            return _clients[cache_key]

    def sdk_client(self, build: Callable[[], Any]) -> Any:
        """One SDK client (and its connection pool) per process and configuration, shared by threads."""
        return self._shared("client", build)

    def in_flight(self) -> threading.BoundedSemaphore:
        """At most ``max_in_flight`` requests at the provider per process. Workers number twice that, so the
        ledger bookkeeping of one call overlaps the provider time of the others instead of idling a slot."""
        return self._shared(f"in-flight-{self.max_in_flight}", lambda: threading.BoundedSemaphore(self.max_in_flight))

    def workers(self) -> int:
        return 2 * self.max_in_flight
