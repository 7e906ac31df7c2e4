"""Per-service rate limits (requests and tokens per minute) shared by every process through the database.

A token bucket per (service, metric) row: capacity is the per-minute limit, refilled continuously. A caller takes
what its request needs in one short transaction, or learns how long to wait. pyrate-limiter's SQL buckets store one
row per unit of weight, which for tokens per minute means hundreds of thousands of rows a minute; a bucket row is O(1).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from .db.models import RateBucket
from .db.types import utcnow
from .db.upsert import insert_ignoring_conflicts


class RateLimitTimeout(Exception):
    """Waiting for the shared rate limit would take longer than the caller allows."""


@dataclass(frozen=True)
class RateLimiter:
    sessions: sessionmaker[Session]  # budget sessions: serialised transactions on SQLite
    service: str
    per_minute: dict[str, int] = field(default_factory=dict)  # e.g. {"requests": 3000, "tokens": 1_000_000}

    def _try_take(self, needs: dict[str, float]) -> float:
        """Take ``needs`` if every bucket has it; else take nothing and return the seconds to wait."""
        now = utcnow()
        with self.sessions.begin() as session:
            insert_ignoring_conflicts(
                session, RateBucket,
                [dict(service=self.service, metric=m, level=float(cap), updated_at=now) for m, cap in self.per_minute.items()],
                ["service", "metric"],
            )
            wait = 0.0
            buckets = {}
            for metric in sorted(needs):  # fixed lock order across processes
                capacity = float(self.per_minute[metric])
                bucket = session.get(RateBucket, (self.service, metric), with_for_update=True)
                rate = capacity / 60.0
                level = min(capacity, bucket.level + (now - bucket.updated_at).total_seconds() * rate)
                need = min(needs[metric], capacity)  # a request bigger than a minute's worth waits for a full bucket
                buckets[metric] = (bucket, level, need)
                if level < need:
                    wait = max(wait, (need - level) / rate)
            for bucket, level, need in buckets.values():
                bucket.level = level - need if wait == 0 else level
                bucket.updated_at = now
            return wait

    def acquire(self, requests: int = 1, tokens: int = 0, max_wait: float = 120.0) -> float:
        """Block until the request fits the shared limits; returns the seconds spent waiting."""
        needs = {metric: amount for metric, amount in (("requests", requests), ("tokens", tokens))
                 if metric in self.per_minute and amount}
        if not needs:
            return 0.0
        waited = 0.0
        while (wait := self._try_take(needs)) > 0:
            if waited + wait > max_wait:
                raise RateLimitTimeout(f"{self.service}: rate limit would need {waited + wait:.1f}s of waiting")
            time.sleep(wait)
            waited += wait
        return waited
