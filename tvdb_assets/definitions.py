"""The Dagster code location: assets, jobs, sensors, and the resources for this deployment.

Parser and embedder are routers over a free local client and a paid one: the mode of each service (mock, real,
hybrid) is read on every call from the database override or the environment, so it changes without a restart.
Secrets reach Dagster only as ``EnvVar``s.
"""

from __future__ import annotations

import os

from dagster import Definitions, EnvVar

from sensors import sensors
from tvdb import settings
from tvdb_resources.database import DatabaseResource
from tvdb_resources.embedding import LocalEmbedder
from tvdb_resources.ledger import CostLedgerResource
from tvdb_resources.paid.llamaparse_parser import LlamaParseParser
from tvdb_resources.paid.openai_embedder import OpenAIEmbedder
from tvdb_resources.parsing import LocalParser
from tvdb_resources.pipeline import IngestionPipeline
from tvdb_resources.routing import RoutedEmbedder, RoutedParser, Routing
from tvdb_resources.storage import LocalObjectStore, ObjectStore

from .costs import cost_ledger
from .ingestion import ingestion_assets
from .jobs import ingest_batch, summarize_costs


def secret(name: str) -> EnvVar | None:
    """The variable as an EnvVar when it is set (its value never enters Dagster config), else None."""
    return EnvVar(name) if os.environ.get(name) else None


def database_resource() -> DatabaseResource:
    # The URL may carry a password: when set, it reaches Dagster only as an EnvVar.
    url = secret("TVDB_DATABASE_URL")
    return DatabaseResource(url=url) if url is not None else DatabaseResource()


def object_store() -> ObjectStore:
    if settings.object_store_kind() == "supabase":
        from tvdb_resources.storage.supabase import SupabaseObjectStore

        return SupabaseObjectStore(
            url=EnvVar("SUPABASE_URL"), service_role_key=EnvVar("SUPABASE_SERVICE_ROLE_KEY"),
            bucket=os.environ.get("SUPABASE_BUCKET") or "documents",
        )
    return LocalObjectStore()


def build_resources() -> dict:
    settings.service_mode()  # an invalid SERVICE_MODE stops the code location from loading, with the reason
    database = database_resource()
    ledger = CostLedgerResource(database=database)
    tier = settings.parse_tier()
    model, dimensions = settings.embedding_model(), settings.embedding_dimensions()
    routing = Routing(database=database)
    parser = RoutedParser(
        ledger=ledger, tier=tier, routing=routing,
        local=LocalParser(ledger=ledger, tier=tier),
        paid=LlamaParseParser(
            ledger=ledger, tier=tier, api_key=secret("UPLOAD_PIPELINE_LLAMAPARSE_API_KEY"),
            base_url=os.environ.get("UPLOAD_PIPELINE_LLAMAPARSE_BASE_URL") or None,
            requests_per_minute=settings.rate_limit("llamaparse", "rpm", 60),
        ),
    )
    embedder = RoutedEmbedder(
        ledger=ledger, model=model, dimensions=dimensions, routing=routing,
        local=LocalEmbedder(ledger=ledger, model=model, dimensions=dimensions),
        paid=OpenAIEmbedder(
            ledger=ledger, model=model, dimensions=dimensions, api_key=secret("UPLOAD_PIPELINE_OPENAI_API_KEY"),
            base_url=os.environ.get("UPLOAD_PIPELINE_OPENAI_BASE_URL") or None,
            requests_per_minute=settings.rate_limit("openai", "rpm", 3000),
            tokens_per_minute=settings.rate_limit("openai", "tpm", 1_000_000),
        ),
    )
    pipeline = IngestionPipeline(
        database=database, store=object_store(), parser=parser, embedder=embedder,
        chunk_tokens=settings.chunk_tokens(), chunk_overlap_tokens=settings.chunk_overlap_tokens(),
    )
    return {"pipeline": pipeline, "ledger": ledger}


def build_definitions() -> Definitions:
    return Definitions(
        assets=[*ingestion_assets, cost_ledger],
        jobs=[ingest_batch, summarize_costs],
        sensors=sensors,
        resources=build_resources(),
    )


defs = build_definitions()
