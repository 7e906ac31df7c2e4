"""Identifiers that repeat run to run: the n-th id of a kind under a seed is always the same UUID.

Each kind counts on its own, so job ids do not shift when a test polls one more time (polls take request ids).
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import uuid
from collections import defaultdict


class IdFactory:
    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._seed = seed
            self._counters: defaultdict[str, itertools.count] = defaultdict(itertools.count)

    def new(self, kind: str) -> str:
        with self._lock:
            n = next(self._counters[kind])
            digest = hashlib.sha256(f"{self._seed}:{kind}:{n}".encode()).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))
