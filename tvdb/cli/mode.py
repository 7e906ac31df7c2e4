"""``tvdb mode``: the effective mode of each service and why; ``tvdb mode set``/``clear`` change it at run time."""

from __future__ import annotations

import click

from tvdb import settings
from tvdb.db.engine import session_factory
from tvdb.modes import MODES, effective_modes, set_mode
from tvdb.settings import SERVICES

from .output import echo_json


def _show(as_json: bool) -> None:
    modes = effective_modes(session_factory(settings.database_url()))
    if as_json:
        echo_json({s: {"mode": d.mode, "source": d.source} for s, d in modes.items()})
        return
    for service, decision in modes.items():
        click.echo(f"{service:<10} {decision.mode:<6} ({decision.source})")


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def mode(ctx: click.Context, as_json: bool) -> None:
    """Show the effective mode (mock, real, hybrid) of each service and where it comes from."""
    if ctx.invoked_subcommand is None:
        _show(as_json)


@mode.command("set")
@click.argument("new_mode", type=click.Choice(MODES))
@click.option("--service", type=click.Choice(SERVICES), help="Only this service (default: all).")
def set_command(new_mode: str, service: str | None) -> None:
    """Override the mode in the database: every running worker uses it from its next call."""
    set_mode(session_factory(settings.database_url()), new_mode, service)
    _show(False)


@mode.command("clear")
@click.option("--service", type=click.Choice(SERVICES), help="Only this service (default: all).")
def clear_command(service: str | None) -> None:
    """Drop the database override: the environment (SERVICE_MODE, SERVICE_MODE_<SERVICE>) decides again."""
    set_mode(session_factory(settings.database_url()), None, service)
    _show(False)
