"""Queries and status changes over the uploads of one batch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tvdb.db.models import UploadJob, UploadStatus

PAGE_SIZE = 200


def document_pages(
    sessions: sessionmaker[Session], batch_id: str, status: UploadStatus, page_size: int = PAGE_SIZE
) -> Iterator[list[str]]:
    """The distinct document sha256s of the batch's uploads in ``status``, a page at a time.

    Keyset pagination on the sha256, so the stage may change statuses of a page before asking for the next.
    """
    last = ""
    while True:
        with sessions() as session:
            page = list(
                session.scalars(
                    select(UploadJob.content_sha256)
                    .where(
                        UploadJob.batch_id == batch_id,
                        UploadJob.status == status,
                        UploadJob.content_sha256 > last,
                    )
                    .group_by(UploadJob.content_sha256)
                    .order_by(UploadJob.content_sha256)
                    .limit(page_size)
                )
            )
        if not page:
            return
        yield page
        last = page[-1]


def set_status(
    session: Session,
    batch_id: str,
    shas: Sequence[str],
    from_status: UploadStatus,
    to_status: UploadStatus,
    error: str | None = None,
) -> int:
    """Move the batch's uploads of these documents from one status to the next; returns how many moved."""
    result = session.execute(
        update(UploadJob)
        .where(UploadJob.batch_id == batch_id, UploadJob.content_sha256.in_(shas), UploadJob.status == from_status)
        .values(status=to_status, error=error)
    )
    return result.rowcount
