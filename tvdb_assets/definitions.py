"""The Dagster code location: assets, jobs, sensors, and the resources of the configured service mode.

Resources are chosen here, per deployment, from ``SERVICE_MODE``; assets only know the interfaces.
"""

from __future__ import annotations

import os

from dagster import Definitions, EnvVar

from sensors import sensors
from tvdb import settings
from tvdb_resources.database import DatabaseResource
from tvdb_resources.embedding import LocalEmbedder
from tvdb_resources.ledger import CostLedgerResource
from tvdb_resources.parsing import LocalParser
from tvdb_resources.pipeline import IngestionPipeline
from tvdb_resources.storage import LocalObjectStore

from .costs import cost_ledger
from .ingestion import ingestion_assets
from .jobs import ingest_batch, summarize_costs


def database_resource() -> DatabaseResource:
    # The URL may carry a password: when set, it reaches Dagster only as an EnvVar, never as a config value.
    if os.environ.get("TVDB_DATABASE_URL"):
        return DatabaseResource(url=EnvVar("TVDB_DATABASE_URL"))
    return DatabaseResource()


def build_resources(mode: str) -> dict:
    if mode != "mock":
        raise ValueError(
            f"SERVICE_MODE={mode} needs the paid OpenAI/LlamaParse clients, which this build does not have yet; "
            "use SERVICE_MODE=mock"
        )
    database = database_resource()
    ledger = CostLedgerResource(database=database)
    pipeline = IngestionPipeline(
        database=database,
        store=LocalObjectStore(),
        parser=LocalParser(ledger=ledger, tier=settings.parse_tier()),
        embedder=LocalEmbedder(
            ledger=ledger, model=settings.embedding_model(), dimensions=settings.embedding_dimensions()
        ),
        chunk_tokens=settings.chunk_tokens(),
        chunk_overlap_tokens=settings.chunk_overlap_tokens(),
    )
    return {"pipeline": pipeline, "ledger": ledger}


def build_definitions(mode: str | None = None) -> Definitions:
    return Definitions(
        assets=[*ingestion_assets, cost_ledger],
        jobs=[ingest_batch, summarize_costs],
        sensors=sensors,
        resources=build_resources(mode or settings.service_mode()),
    )


defs = build_definitions()
