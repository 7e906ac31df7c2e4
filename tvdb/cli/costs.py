"""``tvdb costs``: today's (UTC) spend per service against its daily limit, in the runbook's keys."""

from __future__ import annotations

import click

from tvdb import settings
from tvdb.budgets import cost_report, service_budgets, today_utc
from tvdb.db.engine import session_factory
from tvdb.ledger import Ledger

from .output import echo_json, usd


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (daily_usage, daily_limits, remaining_budget).")
def costs(as_json: bool) -> None:
    """Today's usage per service, limits and remaining budget."""
    sessions = session_factory(settings.database_url())
    report = cost_report(Ledger(sessions).day_usage(today_utc()), service_budgets(sessions))
    if as_json:
        echo_json(report)
        return
    click.echo(f"costs for {report['date']} (UTC)")
    for service in report["daily_limits"]:
        click.echo(
            f"  {service:<10} spent {usd(report['daily_usage'][service], 4)} of {usd(report['daily_limits'][service], 2)}, "
            f"remaining {usd(report['remaining_budget'][service], 4)}, reserved {usd(report['reserved'][service], 4)}, "
            f"shadow {usd(report['shadow_usage'][service])}"
        )
