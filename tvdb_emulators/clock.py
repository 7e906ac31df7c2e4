"""The emulators' sense of time: real time plus an offset that tests can push forward.

Everything time-dependent (rate-limit refill, job progress, the 48 h parse cache, outage windows) reads this clock,
so ``advance(172_800)`` expires a cache entry without waiting two days.
"""

from __future__ import annotations

import threading
import time


class Clock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._origin = time.monotonic()

    def now(self) -> float:
        """Monotonic seconds since the emulator started (or was last reset), offset included."""
        with self._lock:
            return time.monotonic() - self._origin + self._offset

    def wall(self) -> float:
        """Unix time, offset included: what timestamps in responses show."""
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
            self._origin = time.monotonic()
