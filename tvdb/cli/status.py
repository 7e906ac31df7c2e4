"""``tvdb status``: uploads by status and the size of the corpus."""

from __future__ import annotations

import click
from sqlalchemy import func, select

from tvdb import settings
from tvdb.db.engine import session_factory
from tvdb.db.models import Chunk, Document, Embedding, UploadJob, UploadStatus

from .output import echo_json


def corpus_status(url: str) -> dict:
    with session_factory(url)() as session:
        by_status = dict(session.execute(select(UploadJob.status, func.count()).group_by(UploadJob.status)).all())
        count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
        return {
            "uploads": {status.value: by_status.get(status.value, 0) for status in UploadStatus},
            "documents": count(Document),
            "chunks": count(Chunk),
            "embeddings": count(Embedding),
        }


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(as_json: bool) -> None:
    """Counts of uploads by status, documents, chunks and embeddings."""
    report = corpus_status(settings.database_url())
    if as_json:
        echo_json(report)
        return
    uploads = ", ".join(f"{name} {n}" for name, n in report["uploads"].items())
    click.echo(f"uploads: {uploads}")
    click.echo(f"documents {report['documents']}, chunks {report['chunks']}, embeddings {report['embeddings']}")
