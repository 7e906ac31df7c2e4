"""``tvdb budget set``: change a service's daily limit, emergency multiplier and strict mode at run time."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import click

from tvdb import settings
from tvdb.budgets import set_controls
from tvdb.db.engine import session_factory
from tvdb.settings import SERVICES


def _usd(_ctx, _param, value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"not a number: {value!r}") from None


@click.group()
def budget() -> None:
    """Daily budgets per service (UTC days), read by every worker on its next paid call."""


@budget.command("set")
@click.option("--service", "services", type=click.Choice(SERVICES), multiple=True, help="Default: all services.")
@click.option("--limit", callback=_usd, help="Daily limit in USD, e.g. 150.00.")
@click.option("--multiplier", callback=_usd, help="Emergency multiplier on the limit, e.g. 0.1 (1 to undo).")
@click.option("--strict/--no-strict", default=None, help="Refuse paid calls whose cost is only an estimate.")
def set_command(services: tuple[str, ...], limit, multiplier, strict) -> None:
    sessions = session_factory(settings.database_url())
    for service in services or SERVICES:
        set_controls(sessions, service, daily_limit=limit, multiplier=multiplier, strict=strict)
    click.echo("updated; `tvdb costs` shows the limits now in force")
