"""The outcome of a batch, file by file, for the CLI and the materialization's markdown table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from datetime import UTC, datetime
from decimal import Decimal

from tvdb.db.models import Chunk, Document, Embedding, UploadJob
from tvdb.db.types import utcnow
from tvdb.ledger import Ledger, ServiceUsage

from .services import PipelineServices

TABLE_ROWS = 50


@dataclass(frozen=True)
class FileOutcome:
    upload_id: int
    filename: str
    status: str
    error: str | None
    sha256: str | None
    pages: int | None
    chunks: int


def file_outcomes(
    sessions: sessionmaker[Session], batch_id: str, chunking: str, upload_ids: Iterable[int] | None = None
) -> Iterator[FileOutcome]:
    chunk_counts = (
        select(Chunk.document_sha256, func.count().label("n"))
        .where(Chunk.chunking == chunking)
        .group_by(Chunk.document_sha256)
        .subquery()
    )
    query = (
        select(UploadJob, Document.pages, func.coalesce(chunk_counts.c.n, 0))
        .outerjoin(Document, Document.sha256 == UploadJob.content_sha256)
        .outerjoin(chunk_counts, chunk_counts.c.document_sha256 == UploadJob.content_sha256)
        .where(UploadJob.batch_id == batch_id)
        .order_by(UploadJob.id)
    )
    if upload_ids is not None:
        query = query.where(UploadJob.id.in_(list(upload_ids)))
    with sessions() as session:
        for upload, pages, chunks in session.execute(query).yield_per(500):
            yield FileOutcome(upload.id, upload.original_filename, upload.status, upload.error,
                              upload.content_sha256, pages, chunks)


def status_counts(sessions: sessionmaker[Session], batch_id: str) -> Counter[str]:
    with sessions() as session:
        rows = session.execute(
            select(UploadJob.status, func.count()).where(UploadJob.batch_id == batch_id).group_by(UploadJob.status)
        )
        return Counter(dict(rows.all()))


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(outcomes: Iterable[FileOutcome], limit: int = TABLE_ROWS) -> str:
    lines = ["| file | document | status | pages | chunks | error |", "|---|---|---|---|---|---|"]
    more = 0
    for outcome in outcomes:
        if len(lines) - 2 >= limit:
            more += 1
            continue
        lines.append(
            "| " + " | ".join(_cell(v) for v in (
                outcome.filename, (outcome.sha256 or "")[:12], outcome.status,
                outcome.pages if outcome.pages is not None else "", outcome.chunks, outcome.error or "",
            )) + " |"
        )
    if more:
        lines.append(f"\n…and {more} more files.")
    return "\n".join(lines)


@dataclass(frozen=True)
class BatchTotals:
    chunks: int
    embeddings: int
    parse_calls: int
    embedding_calls: int
    cost_usd: Decimal
    shadow_cost_usd: Decimal
    fallbacks: int


def batch_totals(services: PipelineServices, batch_id: str) -> BatchTotals:
    """Chunks and vectors of the batch's documents, and what the batch's calls cost (from the ledger)."""
    signature = services.chunker.signature
    model, dimensions = services.embedder.spec().name, services.embedder.output_dimensions()
    documents = select(UploadJob.content_sha256).where(UploadJob.batch_id == batch_id).distinct().scalar_subquery()
    chunks = select(Chunk.text_sha256).where(Chunk.document_sha256.in_(documents), Chunk.chunking == signature)
    with services.sessions() as session:
        chunk_count = session.scalar(select(func.count()).select_from(chunks.subquery()))
        embedded = session.scalar(
            select(func.count())
            .select_from(Chunk)
            .join(Embedding, (Embedding.text_sha256 == Chunk.text_sha256) & (Embedding.model == model)
                  & (Embedding.dimensions == dimensions))
            .where(Chunk.document_sha256.in_(documents), Chunk.chunking == signature)
        )
    usage = Ledger(services.sessions).usage_between(datetime.min.replace(tzinfo=UTC), utcnow(), batch_id=batch_id)
    total = ServiceUsage()
    for service_usage in usage.values():
        total.add(service_usage)
    return BatchTotals(
        chunks=chunk_count,
        embeddings=embedded,
        parse_calls=usage.get("llamaparse", ServiceUsage()).calls,
        embedding_calls=usage.get("openai", ServiceUsage()).calls,
        cost_usd=total.actual_cost,
        shadow_cost_usd=total.shadow_cost,
        fallbacks=total.fallbacks,
    )
