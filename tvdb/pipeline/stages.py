"""The four stages over one batch. Each is idempotent: a stage re-run on a finished batch finds nothing to do."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator

from sqlalchemy import exists, func, select, update

from tvdb.db.models import Chunk, CostEntry, Document, Embedding, LedgerStatus, UploadJob, UploadStatus
from tvdb.db.types import utcnow
from tvdb.db.upsert import insert_ignoring_conflicts, upsert_where
from tvdb.hashing import sha256_text
from tvdb.ledger import CallContext, Ledger
from tvdb.reservations import Reservations
from tvdb_resources.embedding import EmbedInput
from tvdb_resources.embedding.base import OPENAI
from tvdb_resources.parsing import SourceDocument, UnparseableDocument

from .report import StageReport
from .services import PipelineServices
from .uploads import document_pages, set_status

log = logging.getLogger(__name__)

UPLOADS_ASSET = "uploaded_documents"
PARSED_ASSET = "parsed_documents"
CHUNKS_ASSET = "document_chunks"
EMBEDDINGS_ASSET = "chunk_embeddings"
MAX_ERROR_CHARS = 500


def _error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]


def register_documents(services: PipelineServices, batch_id: str, context: CallContext) -> StageReport:
    """Turn the batch's stored uploads into documents (one per distinct content) and queue failed ones for retry."""
    report = StageReport(UPLOADS_ASSET, batch_id)
    swept = Reservations(services.database_url).sweep()
    if swept:
        log.warning("settled %d expired hold(s) left by dead workers at their reserved amounts", swept)
    with services.sessions.begin() as session:
        # Uploads that failed after their bytes were stored are retried by a re-run; refused intake is final.
        session.execute(
            update(UploadJob)
            .where(UploadJob.batch_id == batch_id, UploadJob.status == UploadStatus.FAILED,
                   UploadJob.storage_key.is_not(None))
            .values(status=UploadStatus.STORED, error=None)
        )
    for page in document_pages(services.sessions, batch_id, UploadStatus.STORED):
        with services.sessions.begin() as session:
            uploads = session.scalars(
                select(UploadJob).where(UploadJob.batch_id == batch_id, UploadJob.content_sha256.in_(page),
                                        UploadJob.status == UploadStatus.STORED)
            ).all()
            first = {}
            for upload in uploads:
                upload.attempts += 1
                first.setdefault(upload.content_sha256, upload)
            missing = [sha for sha, up in first.items() if not services.store.exists(up.storage_key)]
            if missing:
                set_status(session, batch_id, missing, UploadStatus.STORED, UploadStatus.FAILED,
                           "stored object is missing from the object store")
                report.failed += len(missing)
            rows = [
                dict(sha256=sha, mime=up.mime, size_bytes=up.size_bytes, storage_key=up.storage_key,
                     first_filename=up.original_filename, created_at=utcnow())
                for sha, up in first.items() if sha not in missing
            ]
            insert_ignoring_conflicts(session, Document, rows, ["sha256"])
            report.documents += len(rows)
    return report.finish(Ledger(services.sessions), UPLOADS_ASSET)


def _keep_for_retry(services: PipelineServices, batch_id: str, sha: str, status: UploadStatus, error: str) -> None:
    """A service error: the uploads keep their status (a re-run retries them) and carry the error."""
    with services.sessions.begin() as session:
        session.execute(
            update(UploadJob)
            .where(UploadJob.batch_id == batch_id, UploadJob.content_sha256 == sha, UploadJob.status == status)
            .values(error=error)
        )


def _fail(services: PipelineServices, batch_id: str, sha: str, status: UploadStatus, reason: str) -> None:
    with services.sessions.begin() as session:
        set_status(session, batch_id, [sha], status, UploadStatus.FAILED, reason)


def parse_documents(services: PipelineServices, batch_id: str, context: CallContext) -> StageReport:
    """Parse each document of the batch that has no text yet; documents parsed before cost nothing."""
    report = StageReport(PARSED_ASSET, batch_id)
    call_context = dataclasses.replace(context, asset=PARSED_ASSET, batch_id=batch_id)
    for page in document_pages(services.sessions, batch_id, UploadStatus.STORED):
        with services.sessions() as session:
            documents = session.scalars(select(Document).where(Document.sha256.in_(page))).all()
        report.documents += len(documents)
        for document in documents:
            if document.text is not None:
                report.cached += 1
                _mark_parsed(services, report, document.sha256, document.pages)
        todo = (d for d in documents if d.text is None)
        for source, outcome in services.parser.parse_many(_sources(services, report, todo), call_context):
            if isinstance(outcome, UnparseableDocument):
                _fail(services, batch_id, source.sha256, UploadStatus.STORED, outcome.reason)
                report.failed += 1
            elif isinstance(outcome, Exception):
                log.warning("parsing %s failed: %s", source.sha256[:12], _error_text(outcome))
                _keep_for_retry(services, batch_id, source.sha256, UploadStatus.STORED, _error_text(outcome))
                report.errors.append(f"{source.filename}: {_error_text(outcome)}")
            else:
                with services.sessions.begin() as session:
                    session.execute(
                        update(Document)
                        .where(Document.sha256 == source.sha256)
                        .values(text=outcome.text, pages=outcome.pages, parser=outcome.parser, parsed_at=utcnow())
                    )
                report.worked += 1
                _mark_parsed(services, report, source.sha256, outcome.pages)
    return report.finish(Ledger(services.sessions), PARSED_ASSET)


def _sources(services: PipelineServices, report: StageReport, documents) -> Iterator[SourceDocument]:
    """The documents' bytes, read one at a time as the parser asks for them."""
    for document in documents:
        try:
            data = services.store.get(document.storage_key)
        except KeyError as exc:
            _fail(services, report.batch_id, document.sha256, UploadStatus.STORED, str(exc).strip("'\""))
            report.failed += 1
            continue
        yield SourceDocument(document.sha256, document.first_filename, document.mime, data)


def _mark_parsed(services: PipelineServices, report: StageReport, sha: str, pages: int | None) -> None:
    report.pages += pages or 0
    with services.sessions.begin() as session:
        set_status(session, report.batch_id, [sha], UploadStatus.STORED, UploadStatus.PARSED)


def chunk_documents(services: PipelineServices, batch_id: str, context: CallContext) -> StageReport:
    """Split each parsed document into token windows, once per document and chunking."""
    report = StageReport(CHUNKS_ASSET, batch_id)
    signature = services.chunker.signature
    for page in document_pages(services.sessions, batch_id, UploadStatus.PARSED):
        for sha in page:
            report.documents += 1
            with services.sessions.begin() as session:
                existing = session.scalar(
                    select(func.count()).select_from(Chunk).where(Chunk.document_sha256 == sha, Chunk.chunking == signature)
                )
                if existing:
                    report.cached += 1
                    report.chunks += existing
                else:
                    text = session.scalar(select(Document.text).where(Document.sha256 == sha))
                    pieces = services.chunker.split(text)
                    if not pieces:
                        set_status(session, batch_id, [sha], UploadStatus.PARSED, UploadStatus.FAILED,
                                   "document has no text to chunk")
                        report.failed += 1
                        continue
                    session.add_all(
                        Chunk(document_sha256=sha, chunking=signature, chunk_index=i, text=piece.text,
                              token_count=piece.token_count, text_sha256=sha256_text(piece.text))
                        for i, piece in enumerate(pieces)
                    )
                    report.worked += 1
                    report.chunks += len(pieces)
                    report.tokens += sum(piece.token_count for piece in pieces)
                set_status(session, batch_id, [sha], UploadStatus.PARSED, UploadStatus.CHUNKED)
    return report.finish(Ledger(services.sessions), CHUNKS_ASSET)


def embed_chunks(services: PipelineServices, batch_id: str, context: CallContext) -> StageReport:
    """Embed the chunks whose text has no usable vector yet for this model and dimensions; the rest are cache hits.

    Which cached vectors are usable depends on the embedder: paid (real, hybrid) modes reuse only OpenAI's vectors,
    so a chunk embedded locally during a hybrid fallback is embedded again by OpenAI once the service is back.
    """
    report = StageReport(EMBEDDINGS_ASSET, batch_id)
    call_context = dataclasses.replace(context, asset=EMBEDDINGS_ASSET, batch_id=batch_id)
    embedder, signature = services.embedder, services.chunker.signature
    model, dimensions = embedder.spec().name, embedder.output_dimensions()
    for page in document_pages(services.sessions, batch_id, UploadStatus.CHUNKED):
        reusable = embedder.reusable()  # read per page: a run-time mode change applies to the rest of the batch
        with services.sessions() as session:
            chunks = session.execute(
                select(Chunk.text_sha256, Chunk.text, Chunk.token_count).where(
                    Chunk.document_sha256.in_(page), Chunk.chunking == signature
                )
            ).all()
            cached = set(
                session.scalars(
                    select(Embedding.text_sha256).where(
                        Embedding.model == model, Embedding.dimensions == dimensions,
                        Embedding.embedder.in_(reusable), Embedding.text_sha256.in_({c.text_sha256 for c in chunks}),
                    )
                )
            )
        pending = list({c.text_sha256: EmbedInput(c.text, c.text_sha256, c.token_count)
                        for c in chunks if c.text_sha256 not in cached}.values())
        report.documents += len(page)
        report.chunks += len(chunks)
        report.cached += len(chunks) - len(pending)
        try:
            vectors = embedder.embed(pending, call_context) if pending else []
        except Exception as exc:  # noqa: BLE001 - the page keeps its status for a retry; the step fails at the end
            log.warning("embedding %d chunks failed: %s", len(pending), _error_text(exc))
            for sha in page:
                _keep_for_retry(services, batch_id, sha, UploadStatus.CHUNKED, _error_text(exc))
            report.errors.append(_error_text(exc))
            continue
        with services.sessions.begin() as session:
            upsert_where(
                session,
                Embedding,
                [dict(model=model, dimensions=dimensions, text_sha256=item.text_sha256, embedder=vector.embedder,
                      vector=vector.values.astype("<f4").tobytes(), created_at=utcnow())
                 for item, vector in zip(pending, vectors, strict=True)],
                ["model", "dimensions", "text_sha256"],
                ["vector", "embedder", "created_at"],
                where=lambda new: new.embedder == OPENAI,  # a paid vector replaces a local one, never the reverse
            )
            set_status(session, batch_id, page, UploadStatus.CHUNKED, UploadStatus.EMBEDDED)
        report.worked += len(pending)
        report.tokens += sum(item.tokens for item in pending)
    _finish_batch(services, batch_id)
    return report.finish(Ledger(services.sessions), EMBEDDINGS_ASSET)


def _finish_batch(services: PipelineServices, batch_id: str) -> None:
    """Embedded uploads are done once no ledger reservation of the batch is still open."""
    with services.sessions.begin() as session:
        open_holds = session.scalar(
            select(exists().where(CostEntry.batch_id == batch_id, CostEntry.status == LedgerStatus.RESERVED))
        )
        if not open_holds:
            session.execute(
                update(UploadJob)
                .where(UploadJob.batch_id == batch_id, UploadJob.status == UploadStatus.EMBEDDED)
                .values(status=UploadStatus.DONE)
            )


STAGES = (register_documents, parse_documents, chunk_documents, embed_chunks)
