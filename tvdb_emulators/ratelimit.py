"""Request and token rate limits as token buckets, with OpenAI-style ``x-ratelimit-*`` and ``Retry-After`` headers.

A bucket holds up to ``limit`` units and refills continuously at ``limit / window_s`` per second (OpenAI documents
its limits as replenishing this way). A request takes one request unit and its token count, atomically across both
buckets: a refused request takes nothing.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal


def go_duration(seconds: float) -> str:
    """Seconds as a Go duration string, the format of ``x-ratelimit-reset-*`` (``12ms``, ``1.5s``, ``6m0s``)."""

    def trim(value: float) -> str:
        return f"{value:.3f}".rstrip("0").rstrip(".")

    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{trim(seconds * 1000)}ms"
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    if hours:
        return f"{hours}h{minutes}m{trim(secs)}s"
    if minutes:
        return f"{minutes}m{trim(secs)}s"
    return f"{trim(secs)}s"


def retry_after_headers(seconds: float) -> dict[str, str]:
    """``Retry-After`` in whole seconds (HTTP) and ``retry-after-ms`` (what the Stainless SDKs read first)."""
    return {"retry-after": str(max(1, math.ceil(seconds))), "retry-after-ms": str(max(1, math.ceil(seconds * 1000)))}


class Bucket:
    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.rate = limit / window_s
        self.level = float(limit)
        self.updated: float | None = None

    def refill(self, now: float) -> None:
        if self.updated is not None:
            self.level = min(self.limit, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for(self, amount: int) -> float:
        """Seconds until ``amount`` fits; inf when it never can."""
        if amount > self.limit:
            return math.inf
        return max(0.0, (amount - self.level) / self.rate)

    def reset_in(self) -> float:
        return (self.limit - self.level) / self.rate


Dimension = Literal["requests", "tokens"]


@dataclass
class Decision:
    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)
    limited_by: Dimension | None = None
    retry_after_s: float | None = None  # None with allowed=False: the request can never fit (too large)
    limit: int = 0
    used: int = 0
    requested: int = 0

    def retry_headers(self) -> dict[str, str]:
        return {} if self.retry_after_s is None else retry_after_headers(self.retry_after_s)


class RateLimiter:
    def __init__(
        self, requests: int | None, tokens: int | None, window_s: float, now: Callable[[], float]
    ) -> None:
        self._lock = threading.Lock()
        self._now = now
        self._buckets: dict[Dimension, Bucket] = {}
        if requests is not None:
            self._buckets["requests"] = Bucket(requests, window_s)
        if tokens is not None:
            self._buckets["tokens"] = Bucket(tokens, window_s)

    def acquire(self, tokens: int = 0) -> Decision:
        wanted: dict[Dimension, int] = {"requests": 1, "tokens": tokens}
        with self._lock:
            now = self._now()
            for bucket in self._buckets.values():
                bucket.refill(now)
            for dimension, bucket in self._buckets.items():
                wait = bucket.wait_for(wanted[dimension])
                if wait > 0:
                    return Decision(
                        allowed=False,
                        headers=self._headers(),
                        limited_by=dimension,
                        retry_after_s=None if math.isinf(wait) else wait,
                        limit=bucket.limit,
                        used=bucket.limit - math.floor(bucket.level),
                        requested=wanted[dimension],
                    )
            for dimension, bucket in self._buckets.items():
                bucket.level -= wanted[dimension]
            return Decision(allowed=True, headers=self._headers())

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for dimension, bucket in self._buckets.items():
            headers[f"x-ratelimit-limit-{dimension}"] = str(bucket.limit)
            headers[f"x-ratelimit-remaining-{dimension}"] = str(max(0, math.floor(bucket.level)))
            headers[f"x-ratelimit-reset-{dimension}"] = go_duration(bucket.reset_in())
        return headers
