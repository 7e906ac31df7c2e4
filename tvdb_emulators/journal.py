"""A bounded log of the API requests an emulator answered, for tests that assert on retries and timing.

It records the route, status and injected fault, never headers or bodies: those carry keys and documents.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Entry:
    request_id: str
    route: str
    method: str
    path: str
    status: int
    fault: str
    retry_count: str | None  # the Stainless SDKs' x-stainless-retry-count: 0 first try, 1 first retry, ...
    at: float  # emulator clock, seconds
    duration_ms: float


class RequestJournal:
    def __init__(self, maxlen: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[Entry] = deque(maxlen=maxlen)

    def record(self, entry: Entry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(entry) for entry in self._entries]

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
