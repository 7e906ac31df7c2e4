"""The Dagster pipeline on a test instance: materializations, their metadata, the database, and retries."""

from pathlib import Path

import pytest
from dagster import AssetKey, AssetRecordsFilter, instance_for_test, materialize
from sqlalchemy import func, select

from tvdb.db.models import CostEntry, UploadJob
from tvdb.db.types import utcnow
from tvdb_assets.ingestion import ingestion_assets
from tvdb_assets.partitions import upload_batches
from tvdb_assets.runner import register_files, run_batch
from tvdb_resources.parsing import LocalParser
from tvdb_resources.pipeline import IngestionPipeline

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
STAGE_KEYS = ["uploaded_documents", "parsed_documents", "document_chunks", "chunk_embeddings"]
NUMERIC = ["documents", "pages", "chunks", "tokens", "cost_usd", "shadow_cost_usd", "fallbacks", "seconds"]


@pytest.fixture
def instance():
    with instance_for_test() as test_instance:
        yield test_instance


def _materialization(instance, key: str, partition: str):
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(key), asset_partitions=[partition]), limit=1
    ).records
    return records[0].asset_materialization


def _metadata(instance, key, partition) -> dict:
    return {name: value.value for name, value in _materialization(instance, key, partition).metadata.items()}


def test_a_batch_materializes_every_asset_with_plottable_metadata(defs, services, instance, monkeypatch):
    batch, _ = register_files(services, [SAMPLES])
    run_id, success = run_batch(defs, instance, batch)
    assert success
    for key in STAGE_KEYS:
        metadata = _metadata(instance, key, batch)
        assert all(isinstance(metadata[name], (int, float)) for name in NUMERIC), key
        assert "| file | document | status |" in metadata["batch"]
        assert metadata["documents"] == 5
    parsed = _metadata(instance, "parsed_documents", batch)
    embedded = _metadata(instance, "chunk_embeddings", batch)
    assert parsed["pages"] == 7 and parsed["calls"] == 5 and parsed["cost_usd"] == 0
    assert parsed["shadow_cost_usd"] == pytest.approx(7 * 3 * 1.25 / 1000)
    assert embedded["chunks"] > 0 and embedded["tokens"] > 0 and embedded["shadow_cost_usd"] > 0
    assert "cost-control-handbook.pdf" in embedded["batch"] and "| done |" in embedded["batch"]
    ledger = _metadata(instance, "cost_ledger", utcnow().date().isoformat())
    assert ledger["calls"] == parsed["calls"] + embedded["calls"] and ledger["cost_usd"] == 0
    with services.sessions() as session:
        assert set(session.scalars(select(UploadJob.status).where(UploadJob.batch_id == batch))) == {"done"}
        assert session.scalar(select(func.count()).select_from(CostEntry).where(CostEntry.run_id == run_id)) == 6


def test_rematerializing_an_unchanged_batch_makes_no_calls_and_costs_nothing(defs, services, instance):
    batch, _ = register_files(services, [SAMPLES])
    run_batch(defs, instance, batch)
    with services.sessions() as session:
        calls = session.scalar(select(func.count()).select_from(CostEntry))
    _, success = run_batch(defs, instance, batch)
    assert success
    for key in ("parsed_documents", "chunk_embeddings"):
        metadata = _metadata(instance, key, batch)
        assert (metadata["calls"], metadata["cost_usd"], metadata["shadow_cost_usd"]) == (0, 0, 0)
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CostEntry)) == calls


class FlakyParser(LocalParser):
    """A parser whose service fails for one file name: a service error, not bad content."""

    broken_name: str

    def parse(self, document, context):
        if document.filename == self.broken_name:
            raise ConnectionError("parser service unreachable")
        return super().parse(document, context)


def test_a_service_error_fails_the_step_keeps_the_upload_and_a_rerun_finishes(defs, services, instance):
    pipeline = defs.resources["pipeline"]
    flaky = IngestionPipeline(
        database=pipeline.database, store=pipeline.store, embedder=pipeline.embedder,
        parser=FlakyParser(ledger=defs.resources["ledger"], broken_name="operator-notes.txt"),
    )
    batch, _ = register_files(services, [SAMPLES])
    instance.add_dynamic_partitions(upload_batches.name, [batch])
    result = materialize(ingestion_assets, partition_key=batch, instance=instance,
                         resources={"pipeline": flaky}, raise_on_error=False)
    assert not result.success
    with services.sessions() as session:
        jobs = {j.original_filename: j for j in session.scalars(select(UploadJob).where(UploadJob.batch_id == batch))}
    assert jobs["operator-notes.txt"].status == "stored"
    assert "parser service unreachable" in jobs["operator-notes.txt"].error
    assert jobs["ingestion-guide.md"].status == "parsed"  # parsed, but downstream did not run on a partial batch
    _, success = run_batch(defs, instance, batch)
    assert success
    with services.sessions() as session:
        jobs = session.scalars(select(UploadJob).where(UploadJob.batch_id == batch)).all()
    assert {j.status for j in jobs} == {"done"} and all(j.error is None for j in jobs)
    assert {j.original_filename: j.attempts for j in jobs}["operator-notes.txt"] == 2


def test_bad_files_fail_with_reasons_and_the_batch_finishes(defs, services, instance, tmp_path, make_pdf):
    tmp_path = tmp_path / "docs"
    tmp_path.mkdir()
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "locked.pdf").write_bytes(make_pdf(["x"], password="pw"))
    (tmp_path / "junk.txt").write_bytes(bytes(range(256)))
    (tmp_path / "sheet.xlsx").write_bytes(b"PK\x03\x04")
    (tmp_path / "good.md").write_bytes(b"# Good\n\nA fine document.")
    batch, _ = register_files(services, [tmp_path])
    _, success = run_batch(defs, instance, batch)
    assert success
    with services.sessions() as session:
        jobs = {j.original_filename: j for j in session.scalars(select(UploadJob).where(UploadJob.batch_id == batch))}
    assert jobs["good.md"].status == "done"
    assert {name: jobs[name].status for name in ("empty.txt", "locked.pdf", "junk.txt", "sheet.xlsx")} == dict.fromkeys(
        ("empty.txt", "locked.pdf", "junk.txt", "sheet.xlsx"), "failed")
    assert "encrypted" in jobs["locked.pdf"].error and "binary" in jobs["junk.txt"].error
    assert len(jobs) == 5


def test_hybrid_fallbacks_are_counted_in_the_materialization_metadata(tvdb_env, monkeypatch, instance, sessions,
                                                                      openai_emulator, llamaparse_emulator):
    from decimal import Decimal

    from tvdb.db.models import ServiceControl
    from tvdb_assets.definitions import build_definitions
    from tvdb_assets.runner import pipeline_services
    from tvdb_emulators.testing import LLAMAPARSE_TEST_KEY, OPENAI_TEST_KEY

    monkeypatch.setenv("SERVICE_MODE", "hybrid")
    monkeypatch.setenv("UPLOAD_PIPELINE_OPENAI_API_KEY", OPENAI_TEST_KEY)
    monkeypatch.setenv("UPLOAD_PIPELINE_OPENAI_BASE_URL", openai_emulator.base_url)
    monkeypatch.setenv("UPLOAD_PIPELINE_LLAMAPARSE_API_KEY", LLAMAPARSE_TEST_KEY)
    monkeypatch.setenv("UPLOAD_PIPELINE_LLAMAPARSE_BASE_URL", llamaparse_emulator.base_url)
    with sessions.begin() as session:  # LlamaParse has no budget today; OpenAI is healthy and within budget
        session.add(ServiceControl(service="llamaparse", daily_limit_usd=Decimal("0")))
    hybrid_defs = build_definitions()
    with pipeline_services(hybrid_defs) as hybrid_services:
        batch, _ = register_files(hybrid_services, [SAMPLES])
        _, success = run_batch(hybrid_defs, instance, batch)
    assert success
    parsed = _metadata(instance, "parsed_documents", batch)
    embedded = _metadata(instance, "chunk_embeddings", batch)
    assert (parsed["fallbacks"], parsed["cost_usd"]) == (5, 0)
    assert embedded["fallbacks"] == 0 and embedded["cost_usd"] > 0
    assert llamaparse_emulator.emulator.billing()["rows"] == []
