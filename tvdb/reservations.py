"""Reserve-then-settle: daily budgets that concurrent workers cannot overshoot.

Before a paid call, its worst-case cost is reserved in a short transaction that serialises per service (a row lock
on PostgreSQL, an immediate transaction on SQLite) and refuses what would exceed the day's limit. The call is made
with no transaction open. Afterwards the hold is settled to the billed cost, released when the provider billed
nothing, or settled at the reserved amount when the outcome is unknown (a timeout may still have been billed).
Holds left by a killed process expire and are swept the same way.

The per-service, per-day totals in ``service_spend`` are what the lock protects; ``cost_tracking`` keeps one row per
call, and the totals always equal the sums of those rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from .budgets import budget_for
from .db.engine import budget_session_factory
from .db.models import CostEntry, LedgerStatus, ServiceSpend
from .db.types import utcnow
from .db.upsert import insert_ignoring_conflicts
from .hashing import sha256_text
from .ledger import CallContext

DEFAULT_HOLD_TTL = timedelta(minutes=15)
ZERO = Decimal(0)


class BudgetExceeded(Exception):
    """The call's worst case does not fit in what is left of the service's daily budget."""

    reason = "budget"  # the ledger's fallback reason in hybrid mode

    def __init__(self, service: str, needed: Decimal, remaining: Decimal):
        super().__init__(
            f"{service} daily budget exhausted: this call may cost up to ${needed:.6f}, ${remaining:.6f} remains"
        )
        self.service, self.needed, self.remaining = service, needed, remaining


class StrictLimitRefusal(BudgetExceeded):
    """Strict mode: the call's worst case is an estimate, and strict limits only admit exact bounds."""

    reason = "strict"

    def __init__(self, service: str, needed: Decimal):
        Exception.__init__(self, f"{service} strict limits: this call's cost (${needed:.6f}) is an estimate, refused")
        self.service, self.needed, self.remaining = service, needed, None


class LedgerUnavailable(Exception):
    """The ledger cannot be read or written: no paid call may be made (fail closed)."""


@dataclass(frozen=True)
class PaidCall:
    service: str
    operation: str
    model: str
    units: int  # worst case, in the unit the provider bills (tokens, credits)
    unit_price: Decimal
    work_key: str
    exact: bool = True  # False: ``units`` is an estimate (e.g. pages of a text document), not a guaranteed bound

    @property
    def worst_cost(self) -> Decimal:
        return self.unit_price * self.units

    @property
    def idempotency_key(self) -> str:
        return sha256_text(f"{self.service}|{self.operation}|{self.model}|{self.work_key}")


@dataclass(frozen=True)
class Hold:
    entry_id: int
    service: str
    day: date
    reserved: Decimal
    unit_price: Decimal


def _lock_spend_row(session: Session, service: str, day: date) -> ServiceSpend:
    insert_ignoring_conflicts(
        session, ServiceSpend, [dict(service=service, day=day, spent_usd=ZERO, reserved_usd=ZERO)],
        ["service", "day"],
    )
    # FOR UPDATE is the per-service lock on PostgreSQL; on SQLite the transaction already began IMMEDIATE.
    return session.scalars(
        select(ServiceSpend).where(ServiceSpend.service == service, ServiceSpend.day == day).with_for_update()
    ).one()


def _expire(session: Session, entry: CostEntry, now: datetime) -> None:
    """Count a hold whose outcome nobody will report at its reserved amount: it may have been billed."""
    spend = _lock_spend_row(session, entry.service, entry.created_at.date())
    spend.reserved_usd -= entry.estimated_cost
    spend.spent_usd += entry.estimated_cost
    entry.status, entry.actual_cost, entry.settled_at = LedgerStatus.EXPIRED, entry.estimated_cost, now


class Reservations:
    def __init__(self, url: str):
        self._url = url

    def _sessions(self) -> sessionmaker[Session]:
        return budget_session_factory(self._url)

    def reserve(self, call: PaidCall, context: CallContext, ttl: timedelta = DEFAULT_HOLD_TTL) -> Hold:
        """Hold the call's worst case against today's budget, or raise ``BudgetExceeded``.

        Each attempt at the same work is its own row (``<call key>:<attempt>``), so a retry never overwrites what an
        earlier attempt cost. A hold still open from an earlier attempt belongs to a process that died or is still
        waiting: its outcome is unknown, so it is settled at the reserved amount before the new attempt is held.
        """
        now = utcnow()
        base = call.idempotency_key
        try:
            with self._sessions().begin() as session:
                latest = session.scalars(
                    select(CostEntry)
                    .where(CostEntry.idempotency_key > f"{base}:", CostEntry.idempotency_key < f"{base};")
                    .order_by(CostEntry.id.desc())
                    .limit(1)
                    .with_for_update()
                ).one_or_none()
                spend = _lock_spend_row(session, call.service, now.date())
                if latest is not None and latest.status == LedgerStatus.RESERVED:
                    _expire(session, latest, now)
                budget = budget_for(session, call.service)
                if budget.strict and not call.exact:
                    raise StrictLimitRefusal(call.service, call.worst_cost)
                remaining = budget.limit - spend.spent_usd - spend.reserved_usd
                if call.worst_cost > remaining:
                    raise BudgetExceeded(call.service, call.worst_cost, max(remaining, ZERO))
                spend.reserved_usd += call.worst_cost
                attempt = int(latest.idempotency_key.rsplit(":", 1)[1]) + 1 if latest is not None else 1
                entry = CostEntry(
                    idempotency_key=f"{base}:{attempt}", service=call.service, operation=call.operation,
                    model=call.model, units=call.units, unit_price=call.unit_price, estimated_cost=call.worst_cost,
                    actual_cost=None, shadow_cost=call.worst_cost, status=LedgerStatus.RESERVED, mode="real",
                    run_id=context.run_id, asset=context.asset, batch_id=context.batch_id, created_at=now,
                    expires_at=now + ttl,
                )
                session.add(entry)
                session.flush()
                return Hold(entry.id, call.service, now.date(), call.worst_cost, call.unit_price)
        except BudgetExceeded:
            raise
        except (SQLAlchemyError, OSError) as exc:
            raise LedgerUnavailable(f"cost ledger unavailable, no paid call made: {type(exc).__name__}") from None

    def settle(self, hold: Hold, units: int, latency_ms: float | None = None, cost: Decimal | None = None) -> None:
        """Record what the provider billed (``units`` at the hold's unit price unless ``cost`` is given)."""
        actual = cost if cost is not None else hold.unit_price * units
        self._close(hold, LedgerStatus.SETTLED, actual, units, latency_ms)

    def settle_unknown(self, hold: Hold, latency_ms: float | None = None) -> None:
        """The outcome is unknown (timeout, lost connection): the provider may have billed, so count the hold."""
        self._close(hold, LedgerStatus.SETTLED, hold.reserved, None, latency_ms)

    def release(self, hold: Hold, latency_ms: float | None = None) -> None:
        """The provider billed nothing (refused, rate limited, server error before work): give the hold back."""
        self._close(hold, LedgerStatus.RELEASED, ZERO, 0, latency_ms)

    def _close(self, hold: Hold, status: LedgerStatus, actual: Decimal, units: int | None, latency_ms) -> None:
        now = utcnow()
        with self._sessions().begin() as session:
            entry = session.get(CostEntry, hold.entry_id, with_for_update=True)
            if entry is None or entry.status != LedgerStatus.RESERVED:
                return  # swept meanwhile: the sweep already counted it
            spend = _lock_spend_row(session, hold.service, hold.day)
            spend.reserved_usd -= entry.estimated_cost
            spend.spent_usd += actual
            entry.status, entry.actual_cost, entry.settled_at = status, actual, now
            entry.latency_ms = latency_ms
            if units is not None:
                entry.units = units
                entry.shadow_cost = entry.unit_price * units

    def sweep(self, now: datetime | None = None) -> int:
        """Settle expired holds (their holder died) at the reserved amount; returns how many were swept."""
        now = now or utcnow()
        swept = 0
        with self._sessions().begin() as session:
            expired = session.scalars(
                select(CostEntry)
                .where(CostEntry.status == LedgerStatus.RESERVED, CostEntry.expires_at < now)
                .with_for_update(skip_locked=True)
            ).all()
            for entry in expired:
                _expire(session, entry, now)
                swept += 1
        return swept

    def remaining(self, service: str, day: date | None = None) -> Decimal:
        day = day or utcnow().date()
        with self._sessions().begin() as session:
            spend = session.get(ServiceSpend, (service, day))
            limit = budget_for(session, service).limit
            used = (spend.spent_usd + spend.reserved_usd) if spend else ZERO
        return max(limit - used, ZERO)
