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

from sqlalchemy import Connection, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .budgets import budget_for, budget_from_row
from .db.engine import budget_engine, session_factory, settle_engine
from .db.models import CostEntry, LedgerStatus, ServiceControl, ServiceSpend
from .db.types import utcnow
from .ledger import CallContext, call_key
from .settings import default_daily_limit

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
        return call_key(self.service, self.operation, self.model, self.work_key)


@dataclass(frozen=True)
class Hold:
    entry_id: int
    service: str
    day: date
    reserved: Decimal
    unit_price: Decimal


def _ensure_spend_row(connection: Connection, service: str, day: date) -> None:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(
        dialect.insert(ServiceSpend)
        .values(service=service, day=day, spent_usd=ZERO, reserved_usd=ZERO)
        .on_conflict_do_nothing(index_elements=["service", "day"])
    )


def _move_money(connection: Connection, service: str, day: date, reserved: Decimal, spent: Decimal) -> None:
    connection.execute(
        update(ServiceSpend)
        .where(ServiceSpend.service == service, ServiceSpend.day == day)
        .values(reserved_usd=ServiceSpend.reserved_usd + reserved, spent_usd=ServiceSpend.spent_usd + spent)
    )


def _expire(connection: Connection, entry, now: datetime) -> None:
    """Count a hold whose outcome nobody will report at its reserved amount: it may have been billed."""
    connection.execute(
        update(CostEntry).where(CostEntry.id == entry.id).values(
            status=LedgerStatus.EXPIRED, actual_cost=entry.estimated_cost, settled_at=now)
    )
    _move_money(connection, entry.service, entry.created_at.date(), -entry.estimated_cost, entry.estimated_cost)


# The hold (UPDATE, which takes the spend row's lock) and the attempt's row (INSERT) in one statement: the INSERT's
# unique key makes a concurrent retry of the same work abort the whole statement, hold included.
ONE_STATEMENT_RESERVE = text("""
WITH control AS (
    SELECT COALESCE((SELECT daily_limit_usd FROM service_controls WHERE service = :service), :default_limit)
           * COALESCE((SELECT limit_multiplier FROM service_controls WHERE service = :service), 1) AS daily_limit,
           COALESCE((SELECT strict_limits FROM service_controls WHERE service = :service), false) AS strict
), held AS (
    UPDATE service_spend SET reserved_usd = reserved_usd + :estimated_cost
    WHERE service = :service AND day = :day
      AND spent_usd + reserved_usd + :estimated_cost <= (SELECT daily_limit FROM control)
      AND (:exact OR NOT (SELECT strict FROM control))
    RETURNING day
)
INSERT INTO cost_tracking (idempotency_key, service, operation, model, units, unit_price, estimated_cost,
                           shadow_cost, status, mode, run_id, asset, batch_id, created_at, expires_at)
SELECT :idempotency_key, :service, :operation, :model, :units, :unit_price, :estimated_cost, :shadow_cost, :status,
       :mode, :run_id, :asset, :batch_id, :created_at, :expires_at
FROM held
RETURNING id
""")

ONE_STATEMENT_CLOSE = text("""
WITH closed AS (
    UPDATE cost_tracking
    SET status = :status, actual_cost = :actual, settled_at = :now, latency_ms = :latency,
        units = COALESCE(CAST(:units AS integer), units), shadow_cost = COALESCE(CAST(:shadow AS numeric), shadow_cost)
    WHERE id = :id AND status = 'reserved'
    RETURNING service, estimated_cost
)
UPDATE service_spend
SET reserved_usd = service_spend.reserved_usd - closed.estimated_cost, spent_usd = service_spend.spent_usd + :actual
FROM closed
WHERE service_spend.service = closed.service AND service_spend.day = :day
""")

HOLD_COLUMNS = (CostEntry.id, CostEntry.idempotency_key, CostEntry.status, CostEntry.service,
                CostEntry.estimated_cost, CostEntry.created_at)


def _hold_row(call: PaidCall, context: CallContext, now: datetime, ttl: timedelta, attempt: int) -> dict:
    """The ledger row of an attempt while it is held."""
    return dict(
        idempotency_key=f"{call.idempotency_key}:{attempt}", service=call.service, operation=call.operation,
        model=call.model, units=call.units, unit_price=call.unit_price, estimated_cost=call.worst_cost,
        shadow_cost=call.worst_cost, status=LedgerStatus.RESERVED.value, mode="real", run_id=context.run_id,
        asset=context.asset, batch_id=context.batch_id, created_at=now, expires_at=now + ttl,
    )


class Reservations:
    """Short transactions of a few Core statements, the spend row locked only by a conditional UPDATE that checks
    and adds at once; on PostgreSQL the common reserve and every settle are a single statement each, so a busy
    service's reservations queue behind each other for as little time as possible."""

    def __init__(self, url: str):
        self._url = url

    def reserve(self, call: PaidCall, context: CallContext, ttl: timedelta = DEFAULT_HOLD_TTL) -> Hold:
        """Hold the call's worst case against today's budget, or raise ``BudgetExceeded``.

        Each attempt at the same work is its own row (``<call key>:<attempt>``), so a retry never overwrites what an
        earlier attempt cost. A hold still open from an earlier attempt belongs to a process that died or is still
        waiting: its outcome is unknown, so it is settled at the reserved amount before the new attempt is held.
        """
        now = utcnow()
        cost = call.worst_cost
        if self._url.startswith("postgresql"):
            fast = self._reserve_in_one_statement(call, context, now, ttl)
            if fast is not None:
                return fast
        try:
            with budget_engine(self._url).begin() as connection:
                # The common case, a first attempt, is one INSERT; only a retry looks at earlier attempts.
                entry_id = self._insert_hold(connection, call, context, now, ttl, attempt=1)
                if entry_id is None:
                    entry_id = self._insert_retry(connection, call, context, now, ttl)
                budget = budget_from_row(call.service, connection.execute(
                    select(ServiceControl).where(ServiceControl.service == call.service)).first())
                if budget.strict and not call.exact:
                    raise StrictLimitRefusal(call.service, cost)
                if not self._hold_money(connection, call.service, now.date(), cost, budget.limit):
                    spend = connection.execute(select(ServiceSpend.spent_usd, ServiceSpend.reserved_usd).where(
                        ServiceSpend.service == call.service, ServiceSpend.day == now.date())).first()
                    raise BudgetExceeded(call.service, cost, max(budget.limit - spend[0] - spend[1], ZERO))
                return Hold(entry_id, call.service, now.date(), cost, call.unit_price)  # refusals roll back the row
        except BudgetExceeded:
            raise
        except (SQLAlchemyError, OSError) as exc:
            raise LedgerUnavailable(f"cost ledger unavailable, no paid call made: {type(exc).__name__}") from None

    def _reserve_in_one_statement(self, call: PaidCall, context: CallContext, now: datetime,
                                  ttl: timedelta) -> Hold | None:
        """PostgreSQL, the common case in one round trip: check the limit, add the hold and insert the first
        attempt's row in one atomic statement. None when anything is unusual (over budget, strict, a retry, the
        day's first call): the transactional path then decides, and since a statement is atomic nothing was held."""
        try:
            with budget_engine(self._url).connect() as connection:
                entry_id = connection.execute(ONE_STATEMENT_RESERVE, dict(
                    _hold_row(call, context, now, ttl, attempt=1),
                    day=now.date(), exact=call.exact, default_limit=default_daily_limit(call.service),
                )).scalar()
                connection.commit()
        except IntegrityError:  # the first attempt's row exists: a retry, for the transactional path
            return None
        except (SQLAlchemyError, OSError) as exc:
            raise LedgerUnavailable(f"cost ledger unavailable, no paid call made: {type(exc).__name__}") from None
        if entry_id is None:
            return None
        return Hold(entry_id, call.service, now.date(), call.worst_cost, call.unit_price)

    @staticmethod
    def _insert_hold(connection: Connection, call: PaidCall, context: CallContext, now: datetime, ttl: timedelta,
                     attempt: int) -> int | None:
        """The attempt's row, status reserved; None if that attempt already has one."""
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        return connection.execute(
            dialect.insert(CostEntry)
            .values(**_hold_row(call, context, now, ttl, attempt))
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(CostEntry.id)
        ).scalar()

    def _insert_retry(self, connection: Connection, call: PaidCall, context: CallContext, now: datetime,
                      ttl: timedelta) -> int:
        base = call.idempotency_key
        latest = connection.execute(
            select(*HOLD_COLUMNS)
            .where(CostEntry.idempotency_key > f"{base}:", CostEntry.idempotency_key < f"{base};")
            .order_by(CostEntry.id.desc())
            .limit(1)
            .with_for_update()
        ).first()
        if latest.status == LedgerStatus.RESERVED:
            _expire(connection, latest, now)
        attempt = int(latest.idempotency_key.rsplit(":", 1)[1]) + 1
        entry_id = self._insert_hold(connection, call, context, now, ttl, attempt)
        if entry_id is None:
            raise LedgerUnavailable(f"another worker is retrying the same {call.service} call right now")
        return entry_id

    @staticmethod
    def _hold_money(connection: Connection, service: str, day: date, cost: Decimal, limit: Decimal) -> bool:
        """Add ``cost`` to the day's holds if it fits under ``limit``: one conditional UPDATE, which takes the lock
        (a row lock on PostgreSQL; SQLite's transaction is already IMMEDIATE) and checks in the same statement."""
        fits = (
            update(ServiceSpend)
            .where(ServiceSpend.service == service, ServiceSpend.day == day,
                   ServiceSpend.spent_usd + ServiceSpend.reserved_usd + cost <= limit)
            .values(reserved_usd=ServiceSpend.reserved_usd + cost)
            .returning(ServiceSpend.day)
        )
        if connection.execute(fits).first() is not None:
            return True
        _ensure_spend_row(connection, service, day)  # the day's first call: create the row and ask again
        return connection.execute(fits).first() is not None

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
        values = dict(status=status, actual_cost=actual, settled_at=utcnow(), latency_ms=latency_ms)
        if units is not None:
            values.update(units=units, shadow_cost=hold.unit_price * units)
        if self._url.startswith("postgresql"):
            self._close_in_one_statement(hold, values)
            return
        close_entry = (
            update(CostEntry)
            .where(CostEntry.id == hold.entry_id, CostEntry.status == LedgerStatus.RESERVED)
            .values(**values)
            .returning(CostEntry.estimated_cost)
        )
        with budget_engine(self._url).begin() as connection:
            closed = connection.execute(close_entry).first()
            if closed is None:
                return  # swept meanwhile: the sweep already counted it
            _move_money(connection, hold.service, hold.day, -closed.estimated_cost, actual)

    def _close_in_one_statement(self, hold: Hold, values: dict) -> None:
        """PostgreSQL: close the row and move the money in one atomic statement, one round trip in autocommit.
        A settle lost in a server crash leaves the hold open, which the sweep counts at the reserved amount, never
        less than was billed; so this commit need not wait for the disk (a reserve must)."""
        with settle_engine(self._url).connect() as connection:
            connection.execute(ONE_STATEMENT_CLOSE, dict(  # touches nothing when the hold was swept meanwhile
                id=hold.entry_id, day=hold.day, status=values["status"].value, actual=values["actual_cost"],
                now=values["settled_at"], latency=values["latency_ms"], units=values.get("units"),
                shadow=values.get("shadow_cost"),
            ))

    def sweep(self, now: datetime | None = None) -> int:
        """Settle expired holds (their holder died) at the reserved amount; returns how many were swept."""
        now = now or utcnow()
        with budget_engine(self._url).begin() as connection:
            expired = connection.execute(
                select(*HOLD_COLUMNS)
                .where(CostEntry.status == LedgerStatus.RESERVED, CostEntry.expires_at < now)
                .with_for_update(skip_locked=True)
            ).all()
            for entry in expired:
                _expire(connection, entry, now)
        return len(expired)

    def remaining(self, service: str, day: date | None = None) -> Decimal:
        day = day or utcnow().date()
        with session_factory(self._url)() as session:
            spend = session.get(ServiceSpend, (service, day))
            limit = budget_for(session, service).limit
            used = (spend.spent_usd + spend.reserved_usd) if spend else ZERO
        return max(limit - used, ZERO)
