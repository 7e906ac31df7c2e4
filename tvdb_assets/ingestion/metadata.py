"""Materialization metadata of a stage: numbers the Dagster UI plots over time, plus the batch's table."""

from __future__ import annotations

from dagster import MetadataValue

from tvdb.pipeline.report import StageReport
from tvdb.pipeline.summary import file_outcomes, markdown_table
from tvdb.pipeline.services import PipelineServices


def stage_metadata(report: StageReport, services: PipelineServices) -> dict:
    outcomes = file_outcomes(services.sessions, report.batch_id, services.chunker.signature)
    return {
        "documents": MetadataValue.int(report.documents),
        "pages": MetadataValue.int(report.pages),
        "chunks": MetadataValue.int(report.chunks),
        "tokens": MetadataValue.int(report.tokens),
        "calls": MetadataValue.int(report.usage.calls),
        "cached": MetadataValue.int(report.cached),
        "failed": MetadataValue.int(report.failed),
        "fallbacks": MetadataValue.int(report.usage.fallbacks),
        "cost_usd": MetadataValue.float(float(report.cost_usd)),
        "shadow_cost_usd": MetadataValue.float(float(report.shadow_cost_usd)),
        "seconds": MetadataValue.float(round(report.seconds, 3)),
        "batch": MetadataValue.md(markdown_table(outcomes)),
    }
