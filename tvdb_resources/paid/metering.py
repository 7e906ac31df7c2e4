"""One paid call, end to end: reserve the worst case, call (each attempt first waits for the shared rate limit),
settle or release."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tvdb.ledger import CallContext
from tvdb.rate_limit import RateLimiter, RateLimitTimeout
from tvdb.reservations import PaidCall, Reservations

from .errors import Billed, RateLimited, ServiceError

R = TypeVar("R")


@dataclass(frozen=True)
class Meter:
    reservations: Reservations
    limiter: RateLimiter

    def call(
        self,
        call: PaidCall,
        context: CallContext,
        send: Callable[[], R],
        billed_units: Callable[[R], int | None],
    ) -> R:
        """``send`` runs with no transaction open; ``billed_units`` reads what the provider billed (None: unknown)."""
        hold = self.reservations.reserve(call, context)
        started = time.perf_counter()

        def latency() -> float:
            return (time.perf_counter() - started) * 1000

        try:
            result = send()
        except ServiceError as error:
            if error.billed is Billed.NO:
                self.reservations.release(hold, latency())
            else:
                self.reservations.settle_unknown(hold, latency())
            raise
        except BaseException:
            self.reservations.settle_unknown(hold, latency())  # we cannot know whether the provider billed
            raise
        units = billed_units(result)
        if units is None:
            self.reservations.settle_unknown(hold, latency())
        else:
            self.reservations.settle(hold, units, latency())
        return result

    def limited(self, attempt: Callable[[], R], tokens: int = 0) -> Callable[[], R]:
        """``attempt`` behind the shared rate limit: every try, retries included, takes its request and tokens."""

        def run() -> R:
            try:
                self.limiter.acquire(requests=1, tokens=tokens)
            except RateLimitTimeout as exc:
                raise RateLimited(str(exc), retryable=False) from None
            return attempt()

        return run
