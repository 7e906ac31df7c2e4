"""``tvdb ingest PATH...``: one batch of files through the whole pipeline, in this process."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .output import echo_json, usd


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of lines.")
def ingest(paths: tuple[Path, ...], as_json: bool) -> None:
    """Register PATHS (files and folders) as one upload batch and materialize the pipeline for it."""
    from tvdb.db.models import UploadStatus
    from tvdb.pipeline.summary import batch_totals, file_outcomes
    from tvdb_assets.definitions import build_definitions
    from tvdb_assets.local_instance import local_instance
    from tvdb_assets.runner import ingest as run_ingest
    from tvdb_assets.runner import pipeline_services

    defs = build_definitions()  # from the environment of this invocation
    instance = local_instance()
    with pipeline_services(defs) as services:
        run = run_ingest(defs, instance, services, paths)
        by_id = {o.upload_id: o for o in file_outcomes(services.sessions, run.batch_id, services.chunker.signature)}
        totals = batch_totals(services, run.batch_id)
    files = []
    for path, intake in run.uploads:
        outcome = by_id[intake.upload_id]
        files.append(dict(path=str(path), status=outcome.status, error=outcome.error, sha256=outcome.sha256,
                          pages=outcome.pages, chunks=outcome.chunks))
    done = sum(f["status"] == UploadStatus.DONE for f in files)
    failed = len(files) - done
    summary = dict(
        batch_id=run.batch_id, run_id=run.run_id, run_success=run.success,
        documents_ingested=done, documents_failed=failed, chunks=totals.chunks, embeddings=totals.embeddings,
        parse_calls=totals.parse_calls, embedding_calls=totals.embedding_calls,
        cost_usd=totals.cost_usd, shadow_cost_usd=totals.shadow_cost_usd, fallbacks=totals.fallbacks, files=files,
    )
    if as_json:
        echo_json(summary)
    else:
        for f in files:
            detail = f["error"] or f"{f['pages'] or 0} pages, {f['chunks']} chunks"
            click.echo(f"{f['status']:<8} {f['path']}  ({detail})")
        click.echo(
            f"batch {run.batch_id}: {done} ingested, {failed} failed, {totals.chunks} chunks, "
            f"{totals.embeddings} embeddings; {totals.parse_calls} parse and {totals.embedding_calls} embedding calls; "
            f"cost {usd(totals.cost_usd, 2)} (shadow {usd(totals.shadow_cost_usd)} at list prices); run {run.run_id}"
        )
    sys.exit(0 if failed == 0 and run.success else 1)
