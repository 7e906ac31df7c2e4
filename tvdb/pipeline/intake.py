"""Intake: every uploaded file becomes an ``upload_jobs`` row, and its bytes an object in the content-addressed store.

Whatever arrives is recorded, so nothing is lost: a file we refuse is a failed upload with the reason, not an
exception. Stored bytes are named by their sha256; the uploaded name is a label only and never a path.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from tvdb.db.models import Batch, UploadJob, UploadStatus
from tvdb.db.types import utcnow
from tvdb.hashing import sha256_bytes
from tvdb_resources.parsing.formats import UnparseableDocument, detect_mime
from tvdb_resources.storage import ObjectStore, document_key

MAX_FILENAME_CHARS = 255


@dataclass(frozen=True)
class IntakeResult:
    upload_id: int
    filename: str
    status: str
    error: str | None
    sha256: str | None


def new_batch_id() -> str:
    """Sortable by time, unique across processes: ``20261204T133500Z-1a2b3c4d``."""
    return f"{utcnow():%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def unsafe_filename_reason(name: str) -> str | None:
    if not name or not name.strip():
        return "empty file name"
    if len(name) > MAX_FILENAME_CHARS:
        return f"file name longer than {MAX_FILENAME_CHARS} characters"
    if "/" in name or "\\" in name or name in {".", ".."}:
        return f"unsafe file name {name!r}: names may not contain path separators or traversal"
    if any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in name):
        return "unsafe file name: control characters"
    return None


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


class Intake:
    def __init__(self, sessions: sessionmaker[Session], store: ObjectStore, max_bytes: int):
        self._sessions = sessions
        self._store = store
        self._max_bytes = max_bytes

    def open_batch(self, source: str) -> str:
        batch_id = new_batch_id()
        with self._sessions.begin() as session:
            session.add(Batch(id=batch_id, source=source))
        return batch_id

    def add_file(self, batch_id: str, path: Path, source: str = "cli") -> IntakeResult:
        """Register one file from disk, checking its size before reading it."""
        try:
            size = path.stat().st_size
            if size > self._max_bytes:
                return self._refuse(batch_id, source, path.name, size, self._too_large(size))
            data = path.read_bytes()
        except OSError as exc:
            return self._refuse(batch_id, source, path.name, None, f"cannot read file: {exc.strerror or exc}")
        return self.add_bytes(batch_id, path.name, data, source)

    def add_bytes(self, batch_id: str, filename: str, data: bytes, source: str) -> IntakeResult:
        label = filename[:1024]  # the column width; the name is a label only
        reason = unsafe_filename_reason(filename)
        if reason is None and not data:
            reason = "empty file"
        if reason is None and len(data) > self._max_bytes:
            reason = self._too_large(len(data))
        if reason is not None:
            return self._refuse(batch_id, source, label, len(data), reason)
        sha = sha256_bytes(data)
        try:
            mime = detect_mime(data, filename)
        except UnparseableDocument as exc:
            return self._refuse(batch_id, source, label, len(data), exc.reason, sha)
        key = document_key(sha)
        self._store.put(key, data)
        return self._record(
            UploadJob(
                batch_id=batch_id, source=source, original_filename=label, size_bytes=len(data),
                content_sha256=sha, mime=mime, storage_key=key, status=UploadStatus.STORED,
            )
        )

    def _too_large(self, size: int) -> str:
        return f"file is {_megabytes(size)}, over the {_megabytes(self._max_bytes)} upload limit (TVDB_MAX_UPLOAD_BYTES)"

    def _refuse(
        self, batch_id: str, source: str, filename: str, size: int | None, reason: str, sha: str | None = None
    ) -> IntakeResult:
        return self._record(
            UploadJob(
                batch_id=batch_id, source=source, original_filename=filename, size_bytes=size,
                content_sha256=sha, status=UploadStatus.FAILED, error=reason,
            )
        )

    def _record(self, job: UploadJob) -> IntakeResult:
        with self._sessions.begin() as session:
            session.add(job)
            session.flush()
            return IntakeResult(job.id, job.original_filename, job.status, job.error, job.content_sha256)
