"""The code location as deployed: resources chosen from the environment, secrets only as EnvVars."""

import pytest
from sqlalchemy import select

from tvdb.db.models import UploadJob
from tvdb.ledger import CallContext
from tvdb.pipeline.stages import STAGES
from tvdb_assets.definitions import build_definitions
from tvdb_assets.runner import pipeline_services, register_files
from tvdb_emulators.testing import SUPABASE_TEST_KEY
from tvdb_resources.storage.supabase import SupabaseObjectStore, close_clients

from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def test_an_invalid_service_mode_stops_the_code_location_with_the_reason(tvdb_env, monkeypatch):
    monkeypatch.setenv("SERVICE_MODE", "turbo")
    with pytest.raises(ValueError, match="SERVICE_MODE must be mock, real or hybrid"):
        build_definitions()


def test_secrets_reach_dagster_only_as_env_vars(tvdb_env, monkeypatch):
    monkeypatch.setenv("UPLOAD_PIPELINE_OPENAI_API_KEY", "sk-secret-value-for-test")
    monkeypatch.setenv("UPLOAD_PIPELINE_LLAMAPARSE_API_KEY", "llx-secret-value-for-test")
    pipeline = build_definitions().resources["pipeline"]
    config = repr(pipeline) + repr(pipeline.parser) + repr(pipeline.embedder)
    assert "secret-value-for-test" not in config
    assert pipeline.embedder.paid.api_key == "UPLOAD_PIPELINE_OPENAI_API_KEY"  # the EnvVar's name, not its value


def test_supabase_storage_is_chosen_by_environment_and_the_pipeline_runs_on_it(tvdb_env, monkeypatch,
                                                                             supabase_emulator):
    monkeypatch.setenv("TVDB_OBJECT_STORE", "supabase")
    monkeypatch.setenv("SUPABASE_URL", supabase_emulator.base_url)
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", SUPABASE_TEST_KEY)
    close_clients()
    defs = build_definitions()
    try:
        with pipeline_services(defs) as services:
            assert isinstance(services.store, SupabaseObjectStore)
            batch, _ = register_files(services, [SAMPLES])
            for stage in STAGES:
                assert not stage(services, batch, CallContext()).errors
            with services.sessions() as session:
                assert set(session.scalars(select(UploadJob.status).where(UploadJob.batch_id == batch))) == {"done"}
    finally:
        close_clients()
    billing = supabase_emulator.emulator.billing()
    assert billing["totals"]["rows"] >= 5
    assert not (tvdb_env / "objects").exists()
