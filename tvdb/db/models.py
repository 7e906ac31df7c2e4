"""Tables of the product's own state. Schema changes go through Alembic migrations in ``migrations/``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import Money, UTCDateTime, utcnow


class UploadStatus(StrEnum):
    RECEIVED = "received"
    STORED = "stored"
    PARSED = "parsed"
    CHUNKED = "chunked"
    EMBEDDED = "embedded"
    DONE = "done"
    FAILED = "failed"


class LedgerStatus(StrEnum):
    RESERVED = "reserved"  # worst case held against the budget while the call is in flight
    SETTLED = "settled"  # actual billed cost known
    RELEASED = "released"  # the provider did not bill: the hold is given back
    EXPIRED = "expired"  # the holder died; swept and settled at the reserved amount (it may have been billed)


class Base(DeclarativeBase):
    pass


class Batch(Base):
    """One upload batch: the unit of a Dagster run (a dynamic partition key)."""

    __tablename__ = "batches"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UploadJob(Base):
    """One upload of one file, whatever became of it."""

    __tablename__ = "upload_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    source: Mapped[str] = mapped_column(String(32))
    original_filename: Mapped[str] = mapped_column(String(1024))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    content_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    mime: Mapped[str | None] = mapped_column(String(128))
    storage_key: Mapped[str | None] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), default=UploadStatus.RECEIVED)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_upload_jobs_batch_status", "batch_id", "status"),
        Index("idx_upload_jobs_status_created", "status", "created_at"),
    )


class Document(Base):
    """A distinct content: its id is the sha256 of its bytes, however many times it was uploaded."""

    __tablename__ = "documents"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    mime: Mapped[str] = mapped_column(String(128))
    size_bytes: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(256))
    first_filename: Mapped[str] = mapped_column(String(1024))
    pages: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)
    parser: Mapped[str | None] = mapped_column(String(64))
    parsed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Chunk(Base):
    __tablename__ = "chunks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_sha256: Mapped[str] = mapped_column(ForeignKey("documents.sha256"))
    chunking: Mapped[str] = mapped_column(String(64))
    chunk_index: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    token_count: Mapped[int] = mapped_column(Integer)
    text_sha256: Mapped[str] = mapped_column(String(64), index=True)

    __table_args__ = (UniqueConstraint("document_sha256", "chunking", "chunk_index", name="uq_chunks_position"),)


class Embedding(Base):
    """The embedding cache: one vector per (model, dimensions, sha256 of the chunk text)."""

    __tablename__ = "embeddings"
    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    dimensions: Mapped[int] = mapped_column(Integer, primary_key=True)
    text_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # little-endian float32
    embedder: Mapped[str] = mapped_column(String(16), default="local", server_default="local")  # local | openai
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CostEntry(Base):
    """The cost ledger: one row per service call, paid or free."""

    __tablename__ = "cost_tracking"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    service: Mapped[str] = mapped_column(String(32))
    operation: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64))
    units: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    estimated_cost: Mapped[Decimal] = mapped_column(Money)
    actual_cost: Mapped[Decimal | None] = mapped_column(Money)
    shadow_cost: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    fallback_reason: Mapped[str | None] = mapped_column(String(64))
    run_id: Mapped[str | None] = mapped_column(String(64))
    asset: Mapped[str | None] = mapped_column(String(128))
    batch_id: Mapped[str | None] = mapped_column(String(64), index=True)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_cost_tracking_service_created", "service", "created_at"),
        Index("ix_cost_tracking_status", "status"),
    )


class ServiceControl(Base):
    """Run-time controls per service, read by every worker on its next call."""

    __tablename__ = "service_controls"
    service: Mapped[str] = mapped_column(String(32), primary_key=True)
    mode_override: Mapped[str | None] = mapped_column(String(16))
    daily_limit_usd: Mapped[Decimal | None] = mapped_column(Money)
    limit_multiplier: Mapped[Decimal | None] = mapped_column(Money)
    strict_limits: Mapped[bool | None] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ServiceSpend(Base):
    """Running totals per service and UTC day: the row every reservation of that service locks and checks."""

    __tablename__ = "service_spend"
    service: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    spent_usd: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    reserved_usd: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))


class CircuitBreakerState(Base):
    """One breaker per paid service, shared by every process."""

    __tablename__ = "circuit_breakers"
    service: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="closed")
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failure: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RateBucket(Base):
    """A token bucket (requests or tokens per minute) shared by every process."""

    __tablename__ = "rate_buckets"
    service: Mapped[str] = mapped_column(String(32), primary_key=True)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    level: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
