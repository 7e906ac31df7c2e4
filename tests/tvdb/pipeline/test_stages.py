"""The stages without Dagster: identity by content, caching, and what a re-run costs."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tvdb.db.models import Chunk, CostEntry, Document, Embedding, UploadJob
from tvdb.ledger import CallContext
from tvdb.pipeline.intake import Intake
from tvdb.pipeline.stages import STAGES

SAMPLES = Path(__file__).resolve().parents[3] / "samples"


def _ingest(services, files: dict[str, bytes]) -> str:
    intake = Intake(services.sessions, services.store, max_bytes=10_000_000)
    batch = intake.open_batch("test")
    for name, data in files.items():
        intake.add_bytes(batch, name, data, "test")
    for stage in STAGES:
        report = stage(services, batch, CallContext(run_id="test-run"))
        assert not report.errors
    return batch


def _count(services, model, *where):
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def sample_files():
    return {p.name: p.read_bytes() for p in sorted(SAMPLES.iterdir())}


def test_a_batch_goes_all_the_way_and_is_priced(services, sample_files):
    batch = _ingest(services, sample_files)
    with services.sessions() as session:
        statuses = session.scalars(select(UploadJob.status).where(UploadJob.batch_id == batch)).all()
        rows = session.execute(select(CostEntry.service, CostEntry.actual_cost, CostEntry.shadow_cost,
                                      CostEntry.mode, CostEntry.run_id, CostEntry.batch_id)).all()
    assert statuses == ["done"] * 5
    assert {r.service for r in rows} == {"llamaparse", "openai"}
    assert all(r.actual_cost == 0 and r.shadow_cost > 0 and r.mode == "mock" for r in rows)
    assert all(r.run_id == "test-run" and r.batch_id == batch for r in rows)
    assert _count(services, Embedding) == _count(services, Chunk) > 0


def test_same_bytes_again_make_no_parse_or_embedding_work(services, sample_files):
    _ingest(services, sample_files)
    calls = _count(services, CostEntry)
    batch = _ingest(services, {f"copy-of-{name}": data for name, data in sample_files.items()})
    assert _count(services, CostEntry) == calls
    assert _count(services, Document) == 5
    with services.sessions() as session:
        assert set(session.scalars(select(UploadJob.status).where(UploadJob.batch_id == batch))) == {"done"}


def test_duplicate_uploads_in_one_batch_are_one_document(services):
    _ingest(services, {"a.txt": b"identical words " * 20, "b.txt": b"identical words " * 20})
    assert _count(services, Document) == 1
    assert _count(services, CostEntry, CostEntry.service == "llamaparse") == 1


def test_embeddings_are_cached_per_chunk_text_not_per_document(services):
    shared = "A paragraph that two documents share, word for word. " * 3
    _ingest(services, {"one.txt": shared.encode()})
    embedded = _count(services, Embedding)
    _ingest(services, {"two.txt": (shared + "\n\n").encode()})  # other bytes, same chunk text
    assert _count(services, Document) == 2
    assert _count(services, Embedding) == embedded
    assert _count(services, CostEntry, CostEntry.service == "openai") == 1


def test_failed_parse_is_recorded_and_the_rest_of_the_batch_finishes(services, make_pdf):
    batch = _ingest(services, {"locked.pdf": make_pdf(["secret"], password="pw"), "fine.txt": b"fine words"})
    with services.sessions() as session:
        jobs = {j.original_filename: j for j in session.scalars(select(UploadJob).where(UploadJob.batch_id == batch))}
    assert jobs["locked.pdf"].status == "failed" and "encrypted PDF" in jobs["locked.pdf"].error
    assert jobs["fine.txt"].status == "done"


def test_a_batch_run_sweeps_holds_its_dead_workers_left_and_then_finishes(services):
    from datetime import timedelta
    from decimal import Decimal

    from tvdb.reservations import PaidCall, Reservations

    intake = Intake(services.sessions, services.store, max_bytes=10_000)
    batch = intake.open_batch("test")
    intake.add_bytes(batch, "a.md", b"# A\n\nwords", "test")
    Reservations(services.database_url).reserve(  # a worker that died mid-call, its hold long expired
        PaidCall("llamaparse", "parse", "agentic", 10, Decimal("0.00125"), "dead-worker"), CallContext(batch_id=batch),
        ttl=timedelta(seconds=-1),
    )
    for stage in STAGES:
        stage(services, batch, CallContext())
    with services.sessions() as session:
        assert session.scalars(select(UploadJob.status).where(UploadJob.batch_id == batch)).all() == ["done"]
        expired = session.scalars(select(CostEntry).where(CostEntry.mode == "real")).one()
    assert (expired.status, expired.actual_cost) == ("expired", Decimal("0.0125"))
