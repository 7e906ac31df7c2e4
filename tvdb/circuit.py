"""A circuit breaker per paid service, its state in the database so every process shares it.

closed → (``failure_threshold`` consecutive failures, or one fatal failure such as exhausted quota) → open →
(``cooldown`` later, one caller is let through as a probe) → half-open → closed on success, open again on failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from .db.models import CircuitBreakerState
from .db.types import utcnow
from .db.upsert import insert_ignoring_conflicts

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


@dataclass(frozen=True)
class CircuitBreaker:
    sessions: sessionmaker[Session]
    service: str
    failure_threshold: int = 5
    cooldown: timedelta = timedelta(seconds=30)

    def _row(self, session: Session) -> CircuitBreakerState:
        insert_ignoring_conflicts(session, CircuitBreakerState, [dict(service=self.service, state=CLOSED,
                                                                    consecutive_failures=0, updated_at=utcnow())],
                                  ["service"])
        return session.get(CircuitBreakerState, self.service, with_for_update=True)

    def state(self) -> str:
        with self.sessions.begin() as session:
            return self._row(session).state

    def allow(self) -> bool:
        """May a call go to the service now? In half-open state only the one probe may."""
        now = utcnow()
        with self.sessions.begin() as session:
            row = self._row(session)
            if row.state == CLOSED:
                return True
            if row.state == OPEN and row.opened_at is not None and now - row.opened_at >= self.cooldown:
                # Exactly one process wins the probe: the update only matches while the row is still open.
                won = session.execute(
                    update(CircuitBreakerState)
                    .where(CircuitBreakerState.service == self.service, CircuitBreakerState.state == OPEN)
                    .values(state=HALF_OPEN, updated_at=now)
                ).rowcount
                return won == 1
            if row.state == HALF_OPEN and now - row.updated_at >= self.cooldown:
                row.updated_at = now  # the probe never reported back: let another one through
                return True
            return False

    def record_success(self) -> None:
        with self.sessions.begin() as session:
            row = self._row(session)
            if row.state != CLOSED or row.consecutive_failures:
                row.state, row.consecutive_failures, row.opened_at = CLOSED, 0, None

    def record_failure(self, reason: str, fatal: bool = False) -> None:
        now = utcnow()
        with self.sessions.begin() as session:
            row = self._row(session)
            row.consecutive_failures += 1
            row.last_failure = reason[:500]
            if fatal or row.state == HALF_OPEN or row.consecutive_failures >= self.failure_threshold:
                row.state, row.opened_at = OPEN, now
            row.updated_at = now
