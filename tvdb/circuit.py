"""A circuit breaker per paid service, its state in the database so every process shares it.

closed → (``failure_threshold`` consecutive failures, or one fatal failure such as exhausted quota) → open →
(``cooldown`` later, one caller is let through as a probe) → half-open → closed on success, open again on failure.

The healthy path costs one indexed read per call and no write (``allow`` says HEALTHY and the caller skips
``record_success``): writes, serialised per service, happen only when something changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from .db.engine import budget_session_factory, session_factory
from .db.models import CircuitBreakerState
from .db.types import utcnow
from .db.upsert import insert_ignoring_conflicts

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
HEALTHY, ALLOWED = "healthy", "allowed"  # what allow() grants


@dataclass(frozen=True)
class CircuitBreaker:
    database_url: str
    service: str
    failure_threshold: int = 5
    cooldown: timedelta = timedelta(seconds=30)

    def _locked_row(self, session: Session) -> CircuitBreakerState:
        insert_ignoring_conflicts(session, CircuitBreakerState, [dict(service=self.service, state=CLOSED,
                                                                    consecutive_failures=0, updated_at=utcnow())],
                                  ["service"])
        return session.get(CircuitBreakerState, self.service, with_for_update=True)

    def _read(self) -> CircuitBreakerState | None:
        with session_factory(self.database_url)() as session:
            return session.get(CircuitBreakerState, self.service)

    def state(self) -> str:
        row = self._read()
        return row.state if row is not None else CLOSED

    def allow(self) -> str | None:
        """May a call go to the service now? ``HEALTHY`` (closed, no failures: nothing to report back on success),
        ``ALLOWED`` (closed after failures, or this caller is the half-open probe), or None."""
        row = self._read()
        if row is None or (row.state == CLOSED and row.consecutive_failures == 0):
            return HEALTHY
        if row.state == CLOSED:
            return ALLOWED
        now = utcnow()
        with budget_session_factory(self.database_url).begin() as session:
            row = self._locked_row(session)
            if row.state == CLOSED:
                return ALLOWED
            if row.state == OPEN and row.opened_at is not None and now - row.opened_at >= self.cooldown:
                row.state, row.updated_at = HALF_OPEN, now  # this caller is the probe; the row lock makes it one
                return ALLOWED
            if row.state == HALF_OPEN and now - row.updated_at >= self.cooldown:
                row.updated_at = now  # the probe never reported back: let another one through
                return ALLOWED
            return None

    def record_success(self) -> None:
        with budget_session_factory(self.database_url).begin() as session:
            session.execute(  # touches no row while the breaker is healthy
                update(CircuitBreakerState)
                .where(CircuitBreakerState.service == self.service,
                       or_(CircuitBreakerState.state != CLOSED, CircuitBreakerState.consecutive_failures > 0))
                .values(state=CLOSED, consecutive_failures=0, opened_at=None, updated_at=utcnow())
            )

    def record_failure(self, reason: str, fatal: bool = False) -> None:
        now = utcnow()
        with budget_session_factory(self.database_url).begin() as session:
            row = self._locked_row(session)
            row.consecutive_failures += 1
            row.last_failure = reason[:500]
            if fatal or row.state == HALF_OPEN or row.consecutive_failures >= self.failure_threshold:
                row.state, row.opened_at = OPEN, now
            row.updated_at = now
