"""Per-service rate limits (requests and tokens per minute) shared by every process through the database.

A token bucket per (service, metric) row: capacity is the per-minute limit, refilled continuously. A caller takes
what its request needs in one short transaction, or learns how long to wait. pyrate-limiter's SQL buckets store one
row per unit of weight, which for tokens per minute means hundreds of thousands of rows a minute; a bucket row is O(1).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .db.engine import budget_engine
from .db.models import RateBucket
from .db.types import utcnow


class RateLimitTimeout(Exception):
    """Waiting for the shared rate limit would take longer than the caller allows."""


@dataclass(frozen=True)
class RateLimiter:
    database_url: str
    service: str
    per_minute: dict[str, int] = field(default_factory=dict)  # e.g. {"requests": 3000, "tokens": 1_000_000}

    def _locked_buckets(self, connection: Connection, metrics: list[str], now: datetime) -> dict[str, tuple[float, datetime]]:
        query = (
            select(RateBucket.metric, RateBucket.level, RateBucket.updated_at)
            .where(RateBucket.service == self.service, RateBucket.metric.in_(metrics))
            .order_by(RateBucket.metric)  # fixed lock order across processes
            .with_for_update()
        )
        rows = {m: (level, at) for m, level, at in connection.execute(query)}
        if len(rows) < len(metrics):  # first use: full buckets
            dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
            connection.execute(
                dialect.insert(RateBucket).on_conflict_do_nothing(index_elements=["service", "metric"]),
                [dict(service=self.service, metric=m, level=float(self.per_minute[m]), updated_at=now)
                 for m in metrics if m not in rows],
            )
            rows = {m: (level, at) for m, level, at in connection.execute(query)}
        return rows

    def _try_take(self, needs: dict[str, float]) -> float:
        """Take ``needs`` if every bucket has it; else take nothing and return the seconds to wait."""
        with budget_engine(self.database_url).begin() as connection:
            buckets = self._locked_buckets(connection, sorted(needs), utcnow())
            # The clock is read once the rows are locked: a time read before waiting for the lock would be older
            # than the last writer's and credit refill twice.
            now = max([utcnow(), *(at for _, at in buckets.values())])
            wait, levels = 0.0, {}
            for metric, (stored, at) in buckets.items():
                capacity = float(self.per_minute[metric])
                rate = capacity / 60.0
                level = min(capacity, stored + (now - at).total_seconds() * rate)
                need = min(needs[metric], capacity)  # a request bigger than a minute's worth waits for a full bucket
                levels[metric] = (level, need)
                if level < need:
                    wait = max(wait, (need - level) / rate)
            if wait == 0:
                connection.execute(
                    update(RateBucket)
                    .where(RateBucket.service == self.service, RateBucket.metric == bindparam("m"))
                    .values(level=bindparam("level"), updated_at=now),
                    [dict(m=m, level=level - need) for m, (level, need) in levels.items()],
                )
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
