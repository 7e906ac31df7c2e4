"""Which fault, if any, a request gets: scripted first, then by seeded chance.

Every in-scope request draws exactly one number from the seeded stream, whatever the knobs say, so the n-th
request of a run meets the same fate on every run with the same seed, and turning one rate up does not reshuffle
the faults of the others.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Iterable

from .knobs import FaultKind, Knobs


class FaultInjector:
    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._script: deque[FaultKind] = deque()
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._rng = random.Random(seed)

    def script(self, kinds: Iterable[FaultKind]) -> None:
        """Replace the scripted faults; each in-scope request consumes one ('ok' consumes a slot, no fault)."""
        with self._lock:
            self._script = deque(kinds)

    def scripted(self) -> list[FaultKind]:
        with self._lock:
            return list(self._script)

    def draw(self, knobs: Knobs, route: str) -> FaultKind:
        if knobs.fault_routes is not None and route not in knobs.fault_routes:
            return "ok"
        with self._lock:
            roll = self._rng.random()
            if self._script:
                return self._script.popleft()
        for kind, rate in (
            ("server_error", knobs.error_rate),
            ("timeout", knobs.timeout_rate),
            ("malformed", knobs.malformed_rate),
        ):
            if roll < rate:
                return kind  # type: ignore[return-value]
            roll -= rate
        return "ok"


def outage_remaining(knobs: Knobs, now: float) -> float | None:
    """Seconds left in the outage window covering ``now``, or None when the service is up."""
    for start, end in knobs.outage_windows:
        if start <= now < end:
            return end - now
    return None
