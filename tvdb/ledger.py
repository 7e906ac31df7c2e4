"""The cost ledger: every service call, paid or free, as one row of ``cost_tracking``.

Free (mock) calls sit outside the budget: their actual cost is 0, and their shadow cost is what the paid service would
have charged for the same work, so operators can forecast a switch to real mode. A call's idempotency key derives from
the work itself, so a retried step never records the same call twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, UTC
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker

from .db.models import CostEntry, LedgerStatus
from .db.types import utcnow
from .db.upsert import insert_ignoring_conflicts
from .hashing import sha256_text

ZERO = Decimal(0)


@dataclass(frozen=True)
class CallContext:
    """Where a call was made from, carried onto its ledger row."""

    run_id: str | None = None
    asset: str | None = None
    batch_id: str | None = None
    fallback_reason: str | None = None  # set by the hybrid router when a free call stands in for a paid one


def call_key(service: str, operation: str, model: str, work_key: str) -> str:
    """The idempotency key of a call: derived from the work itself, so the same call always gets the same key."""
    return sha256_text(f"{service}|{operation}|{model}|{work_key}")


@dataclass(frozen=True)
class FreeCall:
    service: str
    operation: str
    model: str
    units: int
    unit_price: Decimal
    work_key: str  # what was done, e.g. the document sha256 or the request's chunk hashes
    latency_ms: float

    @property
    def shadow_cost(self) -> Decimal:
        return self.unit_price * self.units

    @property
    def idempotency_key(self) -> str:
        return call_key(self.service, self.operation, self.model, self.work_key)


@dataclass
class ServiceUsage:
    calls: int = 0
    units: int = 0
    actual_cost: Decimal = ZERO
    reserved_cost: Decimal = ZERO
    shadow_cost: Decimal = ZERO
    fallbacks: int = 0

    def add(self, other: "ServiceUsage") -> None:
        self.calls += other.calls
        self.units += other.units
        self.actual_cost += other.actual_cost
        self.reserved_cost += other.reserved_cost
        self.shadow_cost += other.shadow_cost
        self.fallbacks += other.fallbacks


@dataclass
class DayUsage:
    day: date
    services: dict[str, ServiceUsage] = field(default_factory=dict)

    def service(self, name: str) -> ServiceUsage:
        return self.services.get(name, ServiceUsage())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


class Ledger:
    def __init__(self, sessions: sessionmaker[Session]):
        self._sessions = sessions

    def record_free(self, call: FreeCall, context: CallContext) -> bool:
        """Record a mock call; False if this exact call was already recorded."""
        now = utcnow()
        row = dict(
            idempotency_key=call.idempotency_key,
            service=call.service,
            operation=call.operation,
            model=call.model,
            units=call.units,
            unit_price=call.unit_price,
            estimated_cost=ZERO,
            actual_cost=ZERO,
            shadow_cost=call.shadow_cost,
            status=LedgerStatus.SETTLED,
            mode="mock",
            fallback_reason=context.fallback_reason,
            run_id=context.run_id,
            asset=context.asset,
            batch_id=context.batch_id,
            latency_ms=call.latency_ms,
            created_at=now,
            settled_at=now,
        )
        with self._sessions.begin() as session:
            return insert_ignoring_conflicts(session, CostEntry, [row], ["idempotency_key"]) == 1

    def usage_between(
        self, start: datetime, end: datetime, batch_id: str | None = None, asset: str | None = None
    ) -> dict[str, ServiceUsage]:
        reserved = case((CostEntry.status == LedgerStatus.RESERVED, CostEntry.estimated_cost), else_=ZERO)
        query = (
            select(
                CostEntry.service,
                func.count(),
                func.coalesce(func.sum(CostEntry.units), 0),
                func.coalesce(func.sum(CostEntry.actual_cost), ZERO),
                func.coalesce(func.sum(reserved), ZERO),
                func.coalesce(func.sum(CostEntry.shadow_cost), ZERO),
                func.count(CostEntry.fallback_reason),
            )
            .where(CostEntry.created_at >= start, CostEntry.created_at < end)
            .group_by(CostEntry.service)
        )
        if batch_id is not None:
            query = query.where(CostEntry.batch_id == batch_id)
        if asset is not None:
            query = query.where(CostEntry.asset == asset)
        with self._sessions() as session:
            return {
                service: ServiceUsage(calls, int(units), Decimal(actual), Decimal(held), Decimal(shadow), fallbacks)
                for service, calls, units, actual, held, shadow, fallbacks in session.execute(query)
            }

    def day_usage(self, day: date) -> DayUsage:
        return DayUsage(day, self.usage_between(*day_bounds(day)))
