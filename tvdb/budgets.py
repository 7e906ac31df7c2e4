"""Daily budgets per service: limits from the environment, overridden at run time by ``service_controls``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .db.models import ServiceControl
from .db.types import utcnow
from .db.upsert import insert_ignoring_conflicts
from .ledger import DayUsage
from .settings import SERVICES, default_daily_limit

ONE = Decimal(1)


@dataclass(frozen=True)
class ServiceBudget:
    service: str
    base_limit: Decimal
    multiplier: Decimal
    strict: bool = False  # refuse calls whose worst case is an estimate rather than an exact bound

    @property
    def limit(self) -> Decimal:
        return self.base_limit * self.multiplier


def budget_from_row(service: str, control) -> ServiceBudget:
    """The budget from a ``service_controls`` row (an ORM object or a Core row), environment defaults where unset."""
    base = control.daily_limit_usd if control and control.daily_limit_usd is not None else default_daily_limit(service)
    multiplier = control.limit_multiplier if control and control.limit_multiplier is not None else ONE
    return ServiceBudget(service, base, multiplier, bool(control and control.strict_limits))


def budget_for(session: Session, service: str) -> ServiceBudget:
    """The service's budget as of now, read inside the caller's transaction."""
    return budget_from_row(service, session.get(ServiceControl, service))


def service_budgets(sessions: sessionmaker[Session]) -> dict[str, ServiceBudget]:
    with sessions() as session:
        controls = {c.service: c for c in session.scalars(select(ServiceControl))}
    return {service: budget_from_row(service, controls.get(service)) for service in SERVICES}


def set_controls(
    sessions: sessionmaker[Session],
    service: str,
    daily_limit: Decimal | None = None,
    multiplier: Decimal | None = None,
    strict: bool | None = None,
) -> None:
    """Change a service's budget at run time; ``None`` leaves a setting as it is."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; services: {', '.join(SERVICES)}")
    if (daily_limit is not None and daily_limit < 0) or (multiplier is not None and multiplier < 0):
        raise ValueError("limits and multipliers cannot be negative")
    with sessions.begin() as session:
        insert_ignoring_conflicts(session, ServiceControl, [dict(service=service)], ["service"])
        control = session.get(ServiceControl, service)
        if daily_limit is not None:
            control.daily_limit_usd = daily_limit
        if multiplier is not None:
            control.limit_multiplier = multiplier
        if strict is not None:
            control.strict_limits = strict


def cost_report(usage: DayUsage, budgets: dict[str, ServiceBudget]) -> dict:
    """Today's money in the runbook's keys (``daily_usage``, ``daily_limits``, ``remaining_budget``), as Decimals."""
    daily_usage, daily_limits, remaining, reserved, shadow = {}, {}, {}, {}, {}
    for service, budget in budgets.items():
        used = usage.service(service)
        daily_usage[service] = used.actual_cost
        reserved[service] = used.reserved_cost
        shadow[service] = used.shadow_cost
        daily_limits[service] = budget.limit
        remaining[service] = max(Decimal(0), budget.limit - used.actual_cost - used.reserved_cost)
    for table in (daily_usage, daily_limits, remaining, reserved, shadow):
        table["total"] = sum(table.values(), Decimal(0))
    return {
        "date": usage.day.isoformat(),
        "strict_limits": {service: budget.strict for service, budget in budgets.items()},
        "limit_multipliers": {service: budget.multiplier for service, budget in budgets.items()},
        "daily_usage": daily_usage,
        "daily_limits": daily_limits,
        "remaining_budget": remaining,
        "reserved": reserved,
        "shadow_usage": shadow,
    }


def today_utc() -> date:
    return utcnow().date()
