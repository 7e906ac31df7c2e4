"""``tvdb``: ingest files, and read the state and the costs of a local or production install."""

from __future__ import annotations

import click

from tvdb_emulators.cli import emulate

from .budget import budget
from .costs import costs
from .ingest import ingest
from .mode import mode
from .status import status


@click.group(help=__doc__)
def cli() -> None:
    pass


cli.add_command(ingest)
cli.add_command(status)
cli.add_command(costs)
cli.add_command(emulate)
cli.add_command(mode)
cli.add_command(budget)
