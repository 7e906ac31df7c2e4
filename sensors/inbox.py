"""The inbox folder: files dropped into it become one upload batch per tick and a run of ``ingest_batch``.

A registered file leaves the inbox: stored bytes live on in the object store, so the file is deleted; a refused file
is moved to ``.failed/`` beside its upload_jobs row, so nothing is lost.
"""

import shutil
import time
from pathlib import Path

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from tvdb import settings
from tvdb.db.models import UploadStatus
from tvdb.pipeline.intake import Intake
from tvdb_assets.jobs import ingest_batch
from tvdb_assets.partitions import upload_batches
from tvdb_resources.pipeline import IngestionPipeline

MAX_FILES_PER_TICK = 500  # keeps a tick well inside the 60 s sensor time limit; the rest waits for the next tick
SETTLE_SECONDS = 2.0  # a file modified this recently may still be being written


def ready_files(inbox: Path, now: float, limit: int = MAX_FILES_PER_TICK) -> list[Path]:
    files = []
    for path in sorted(inbox.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        if now - path.stat().st_mtime < SETTLE_SECONDS:
            continue
        files.append(path)
        if len(files) == limit:
            break
    return files


@sensor(job=ingest_batch, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def inbox_sensor(context: SensorEvaluationContext, pipeline: IngestionPipeline):
    inbox = settings.inbox_dir()
    if not inbox.is_dir():
        return SkipReason(f"no inbox folder at {inbox}")
    files = ready_files(inbox, time.time())
    if not files:
        return SkipReason("inbox is empty")
    services = pipeline.services()
    intake = Intake(services.sessions, services.store, settings.max_upload_bytes())
    batch_id = intake.open_batch("inbox")
    failed_dir = inbox / ".failed"
    for path in files:
        result = intake.add_file(batch_id, path, source="inbox")
        if result.status == UploadStatus.FAILED:
            failed_dir.mkdir(exist_ok=True)
            shutil.move(path, failed_dir / path.name)
        else:
            path.unlink()
    context.log.info(f"inbox: {len(files)} file(s) registered as batch {batch_id}")
    return SensorResult(
        run_requests=[RunRequest(run_key=batch_id, partition_key=batch_id)],
        dynamic_partitions_requests=[upload_batches.build_add_request([batch_id])],
    )
