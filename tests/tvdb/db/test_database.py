"""The schema, money and time types on SQLite and on the real PostgreSQL."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, inspect, select, text

from tvdb.db.engine import engine_for
from tvdb.db.migrate import current_revision, head_revision
from tvdb.db.models import Batch, CostEntry


def _entry(key: str, cost: str, **extra) -> CostEntry:
    return CostEntry(idempotency_key=key, service="openai", operation="embed", model="m", units=1,
                     unit_price=Decimal(cost), estimated_cost=Decimal(0), actual_cost=Decimal(cost),
                     shadow_cost=Decimal(cost), status="settled", mode="real", **extra)


def test_migrations_create_every_table_at_head(database_url, tvdb_env):
    engine = engine_for(database_url)
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert {"batches", "upload_jobs", "documents", "chunks", "embeddings", "cost_tracking",
            "service_controls"} <= tables
    columns = {c["name"] for c in inspect(engine).get_columns("cost_tracking")}
    assert {"idempotency_key", "service", "operation", "model", "units", "unit_price", "estimated_cost",
            "actual_cost", "shadow_cost", "status", "mode", "fallback_reason", "run_id", "asset", "batch_id",
            "latency_ms", "created_at", "settled_at"} <= columns


def test_money_is_exact_in_rows_and_in_sql_sums(sessions):
    with sessions.begin() as session:
        session.add_all(_entry(f"k{i}", "0.00000002") for i in range(10))
        session.add(_entry("big", "12345.6789012345"))
    with sessions() as session:
        total = session.scalar(select(func.sum(CostEntry.actual_cost)))
        row = session.scalar(select(CostEntry).where(CostEntry.idempotency_key == "big"))
    assert total == Decimal("12345.6789014345")
    assert isinstance(total, Decimal)
    assert row.actual_cost == Decimal("12345.6789012345")


def test_times_are_stored_and_read_as_utc(sessions):
    local = datetime(2026, 12, 4, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
    with sessions.begin() as session:
        session.add(Batch(id="b1", source="test", created_at=local))
    with sessions() as session:
        stored = session.get(Batch, "b1").created_at
    assert stored == datetime(2026, 12, 4, 14, 30, tzinfo=UTC)
    assert stored.tzinfo == UTC


def test_naive_datetimes_are_refused(sessions):
    with pytest.raises(Exception, match="naive datetime"):
        with sessions.begin() as session:
            session.add(Batch(id="b2", source="test", created_at=datetime(2026, 1, 1)))


def test_idempotency_key_is_unique(sessions):
    with sessions.begin() as session:
        session.add(_entry("same", "1"))
    with pytest.raises(Exception):
        with sessions.begin() as session:
            session.add(_entry("same", "2"))


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    engine = engine_for(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30000
