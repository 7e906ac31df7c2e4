"""Printing for the CLI: JSON with exact money, human lines otherwise."""

from __future__ import annotations

import json
from decimal import Decimal

import click


def _plain(value):
    if isinstance(value, Decimal):
        return float(value)  # JSON numbers, so `jq '.remaining_budget.total < 10'` works as the runbook expects
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def echo_json(payload: dict) -> None:
    click.echo(json.dumps(_plain(payload), indent=2, sort_keys=False))


def usd(value: Decimal, places: int = 6) -> str:
    return f"${value:,.{places}f}"
