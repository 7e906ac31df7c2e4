"""Running the pipeline for one batch in this process, on a given Dagster instance (the CLI and the benchmark)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterInstance, Definitions, build_resources

from tvdb import settings
from tvdb.pipeline.intake import Intake, IntakeResult
from tvdb.db.types import utcnow
from tvdb.pipeline.services import PipelineServices

from .jobs import ingest_batch, summarize_costs
from .partitions import upload_batches


@dataclass(frozen=True)
class BatchRun:
    batch_id: str
    run_id: str
    success: bool
    uploads: list[tuple[Path, IntakeResult]]


def expand_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given, and the files under each folder (recursively, sorted, hidden ones skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(part.startswith(".") for part in child.relative_to(path).parts):
                    yield child
        else:
            yield path


@contextmanager
def pipeline_services(defs: Definitions) -> Iterator[PipelineServices]:
    """The stages' services from the code location's resources, EnvVars resolved as in a run."""
    with build_resources({"pipeline": defs.resources["pipeline"]}) as resources:
        yield resources.pipeline.services()


def register_files(services: PipelineServices, paths: Iterable[Path], source: str = "cli") -> tuple[str, list]:
    intake = Intake(services.sessions, services.store, settings.max_upload_bytes())
    batch_id = intake.open_batch(source)
    uploads = [(path, intake.add_file(batch_id, path, source)) for path in expand_paths(paths)]
    return batch_id, uploads


# Step events still reach the instance's event log (and the UI); only the console copy is quieted.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def run_batch(defs: Definitions, instance: DagsterInstance, batch_id: str) -> tuple[str, bool]:
    """Materialize the ingestion assets for the batch's partition, then today's cost ledger summary."""
    instance.add_dynamic_partitions(upload_batches.name, [batch_id])
    result = defs.resolve_job_def(ingest_batch.name).execute_in_process(
        partition_key=batch_id, instance=instance, raise_on_error=False, run_config=QUIET
    )
    defs.resolve_job_def(summarize_costs.name).execute_in_process(
        partition_key=utcnow().date().isoformat(), instance=instance, raise_on_error=False, run_config=QUIET
    )
    return result.run_id, result.success


def ingest(
    defs: Definitions, instance: DagsterInstance, services: PipelineServices, paths: Iterable[Path], source: str = "cli"
) -> BatchRun:
    batch_id, uploads = register_files(services, paths, source)
    run_id, success = run_batch(defs, instance, batch_id)
    return BatchRun(batch_id, run_id, success, uploads)
