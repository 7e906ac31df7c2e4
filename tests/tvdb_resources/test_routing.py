"""Modes end to end against the emulators: real through the SDKs, hybrid fallbacks for each fault kind, recovery."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tvdb.circuit import CircuitBreaker
from tvdb.db.models import CircuitBreakerState, CostEntry, Embedding, ServiceControl, UploadJob
from tvdb.db.types import utcnow
from tvdb.ledger import CallContext
from tvdb.modes import set_mode
from tvdb.pipeline.intake import Intake
from tvdb.pipeline.stages import STAGES
from tvdb_emulators.testing import LLAMAPARSE_TEST_KEY, OPENAI_TEST_KEY

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
TOKEN_PRICE = Decimal("0.02") / 1_000_000
CREDIT_PRICE = Decimal("1.25") / 1000


@pytest.fixture
def paid_env(tvdb_env, monkeypatch, openai_emulator, llamaparse_emulator):
    monkeypatch.setenv("UPLOAD_PIPELINE_OPENAI_API_KEY", OPENAI_TEST_KEY)
    monkeypatch.setenv("UPLOAD_PIPELINE_OPENAI_BASE_URL", openai_emulator.base_url)
    monkeypatch.setenv("UPLOAD_PIPELINE_LLAMAPARSE_API_KEY", LLAMAPARSE_TEST_KEY)
    monkeypatch.setenv("UPLOAD_PIPELINE_LLAMAPARSE_BASE_URL", llamaparse_emulator.base_url)
    return openai_emulator, llamaparse_emulator


@pytest.fixture
def paid_services(paid_env):
    from tvdb_assets.definitions import build_definitions
    from tvdb_assets.runner import pipeline_services

    defs = build_definitions()
    with pipeline_services(defs) as services:
        yield services


def _ingest(services, files: dict[str, bytes] | None = None) -> str:
    files = files or {p.name: p.read_bytes() for p in sorted(SAMPLES.iterdir())}
    intake = Intake(services.sessions, services.store, 10_000_000)
    batch = intake.open_batch("test")
    for name, data in files.items():
        intake.add_bytes(batch, name, data, "test")
    for stage in STAGES:
        stage(services, batch, CallContext(run_id="routing-test"))
    return batch


def _rows(services, service=None):
    with services.sessions() as session:
        query = select(CostEntry).order_by(CostEntry.id)
        if service:
            query = query.where(CostEntry.service == service)
        return session.scalars(query).all()


def _statuses(services, batch):
    with services.sessions() as session:
        return {j.original_filename: (j.status, j.error)
                for j in session.scalars(select(UploadJob).where(UploadJob.batch_id == batch))}


def test_mock_mode_never_calls_the_paid_services(paid_services, paid_env):
    _ingest(paid_services)
    assert all(e.emulator.requests() == [] for e in paid_env)
    assert {r.mode for r in _rows(paid_services)} == {"mock"}


def test_real_mode_prices_every_call_exactly_as_the_providers_bill(paid_services, paid_env, monkeypatch):
    monkeypatch.setenv("SERVICE_MODE", "real")
    openai_emulator, llamaparse_emulator = paid_env
    batch = _ingest(paid_services)
    assert {status for status, _ in _statuses(paid_services, batch).values()} == {"done"}
    openai_rows, parse_rows = _rows(paid_services, "openai"), _rows(paid_services, "llamaparse")
    assert {(r.mode, r.status) for r in openai_rows + parse_rows} == {("real", "settled")}
    assert sum(r.actual_cost for r in openai_rows) == openai_emulator.emulator.billing()["totals"]["tokens"] * TOKEN_PRICE
    assert sum(r.actual_cost for r in parse_rows) == llamaparse_emulator.emulator.billing()["totals"]["credits"] * CREDIT_PRICE
    with paid_services.sessions() as session:
        assert set(session.scalars(select(Embedding.embedder))) == {"openai"}


FAULTS = {
    "budget": lambda emulators, services: _tiny_budget(services.sessions),
    "circuit_open": lambda emulators, services: [
        CircuitBreaker(services.database_url, s, cooldown=timedelta(hours=1)).record_failure("test", fatal=True)
        for s in ("openai", "llamaparse")],
    "rate_limited": lambda emulators, services: [
        e.emulator.configure(next_faults=["rate_limit"] * 200, injected_retry_after_ms=1) for e in emulators],
    "quota": lambda emulators, services: [e.emulator.configure(insufficient_quota=True) for e in emulators],
    "error": lambda emulators, services: [e.emulator.configure(outage_for_s=600) for e in emulators],
    "unauthorized": lambda emulators, services: [e.emulator.configure(api_key="some-other-key") for e in emulators],
}


def _tiny_budget(sessions):
    with sessions.begin() as session:
        session.add_all([ServiceControl(service=s, daily_limit_usd=Decimal("0.0000001")) for s in ("openai", "llamaparse")])


@pytest.mark.parametrize("reason", sorted(FAULTS))
def test_hybrid_falls_back_to_local_with_the_reason_recorded(paid_services, paid_env, monkeypatch, reason):
    monkeypatch.setenv("SERVICE_MODE", "hybrid")
    FAULTS[reason](paid_env, paid_services)
    batch = _ingest(paid_services)
    assert {status for status, _ in _statuses(paid_services, batch).values()} == {"done"}
    free = [r for r in _rows(paid_services) if r.mode == "mock"]
    assert {r.service for r in free} == {"openai", "llamaparse"}
    for service in ("openai", "llamaparse"):
        reasons = [r.fallback_reason for r in free if r.service == service]
        assert reasons[0] == reason
        assert set(reasons) <= {reason, "circuit_open"}  # a fatal fault opens the circuit for the calls after it
    assert all(e.emulator.billing()["totals"][e.emulator.billing()["unit"]] == 0 for e in paid_env)
    assert all(r.status != "reserved" for r in _rows(paid_services))


def test_an_open_circuit_falls_back_and_the_service_is_used_again_after_recovery(paid_services, paid_env, monkeypatch):
    monkeypatch.setenv("SERVICE_MODE", "hybrid")
    openai_emulator, _ = paid_env
    openai_emulator.emulator.configure(outage_for_s=600)
    _ingest(paid_services, {"during-outage.txt": b"embedded while OpenAI is down"})
    assert _rows(paid_services, "openai")[-1].fallback_reason == "error"
    breaker = CircuitBreaker(paid_services.database_url, "openai")
    for _ in range(4):
        breaker.record_failure("outage")
    assert breaker.state() == "open"
    _ingest(paid_services, {"circuit-open.txt": b"embedded while the circuit is open"})
    assert _rows(paid_services, "openai")[-1].fallback_reason == "circuit_open"

    openai_emulator.emulator.reset()  # the service is back
    with paid_services.sessions.begin() as session:  # and the cool-down is over
        session.execute(update(CircuitBreakerState).values(opened_at=utcnow() - timedelta(hours=1)))
    _ingest(paid_services, {"during-outage.txt": b"embedded while OpenAI is down",
                            "circuit-open.txt": b"embedded while the circuit is open"})
    assert breaker.state() == "closed"
    assert (_rows(paid_services, "openai")[-1].mode, _rows(paid_services, "openai")[-1].fallback_reason) == ("real", None)
    with paid_services.sessions() as session:
        assert set(session.scalars(select(Embedding.embedder))) == {"openai"}  # fallback vectors were upgraded


def test_real_mode_fails_clearly_over_budget_and_the_upload_can_be_retried(paid_services, paid_env, monkeypatch):
    monkeypatch.setenv("SERVICE_MODE", "real")
    _tiny_budget(paid_services.sessions)
    intake = Intake(paid_services.sessions, paid_services.store, 10_000_000)
    batch = intake.open_batch("test")
    intake.add_bytes(batch, "a.txt", b"a document that costs money", "test")
    reports = [stage(paid_services, batch, CallContext()) for stage in STAGES[:2]]
    assert "llamaparse daily budget exhausted" in reports[1].errors[0]
    [(status, error)] = _statuses(paid_services, batch).values()
    assert status == "stored" and "budget exhausted" in error
    assert [r.mode for r in _rows(paid_services)] == []  # no silent mock
    with paid_services.sessions.begin() as session:
        session.execute(ServiceControl.__table__.delete())
    for stage in STAGES:
        assert not stage(paid_services, batch, CallContext()).errors
    assert _statuses(paid_services, batch)["a.txt"] == ("done", None)


def test_a_mode_set_at_run_time_applies_to_the_next_call(paid_services, paid_env):
    _ingest(paid_services, {"one.txt": b"first in mock mode"})
    set_mode(paid_services.sessions, "real")
    _ingest(paid_services, {"two.txt": b"second in real mode"})
    set_mode(paid_services.sessions, "mock", service="openai")
    _ingest(paid_services, {"three.txt": b"third: real parse, mock embed"})
    modes = [(r.service, r.mode) for r in _rows(paid_services)]
    assert modes == [("llamaparse", "mock"), ("openai", "mock"), ("llamaparse", "real"), ("openai", "real"),
                     ("llamaparse", "real"), ("openai", "mock")]
