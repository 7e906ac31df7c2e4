"""The Dagster instance of a local install: SQLite under .tvdb/, shared by ``tvdb ingest`` and ``make dev``."""

from __future__ import annotations

import os

from dagster import DagsterInstance

from tvdb import settings

LOCAL_DAGSTER_YAML = """\
# Local instance of `tvdb ingest` and `make dev`: run and event storage in SQLite files beside this one.
# Production uses the top-level dagster.yaml (PostgreSQL) instead.
telemetry:
  enabled: false
"""


def local_instance() -> DagsterInstance:
    """The instance at $DAGSTER_HOME, created under .tvdb/dagster when the variable is unset."""
    home = settings.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(LOCAL_DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return DagsterInstance.get()
