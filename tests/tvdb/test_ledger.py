from datetime import date, timedelta
from decimal import Decimal

from tvdb.budgets import cost_report, service_budgets, today_utc
from tvdb.db.models import ServiceControl
from tvdb.ledger import CallContext, FreeCall, Ledger


def _call(work: str, units: int = 1000) -> FreeCall:
    return FreeCall(service="openai", operation="embed", model="text-embedding-3-small", units=units,
                    unit_price=Decimal("0.00000002"), work_key=work, latency_ms=1.5)


def test_a_free_call_is_recorded_once_with_zero_cost_and_its_shadow_price(sessions):
    ledger = Ledger(sessions)
    context = CallContext(run_id="r1", asset="chunk_embeddings", batch_id="b1")
    assert ledger.record_free(_call("a"), context) is True
    assert ledger.record_free(_call("a"), context) is False  # same work, same key: not recorded twice
    usage = ledger.day_usage(today_utc()).service("openai")
    assert (usage.calls, usage.units, usage.actual_cost) == (1, 1000, Decimal(0))
    assert usage.shadow_cost == Decimal("0.00002")


def test_usage_is_per_utc_day_and_counts_fallbacks(sessions):
    ledger = Ledger(sessions)
    ledger.record_free(_call("a"), CallContext())
    ledger.record_free(_call("b"), CallContext(fallback_reason="budget"))
    assert ledger.day_usage(today_utc()).service("openai").fallbacks == 1
    assert ledger.day_usage(today_utc() - timedelta(days=1)).services == {}


def test_cost_report_uses_the_runbook_keys_and_run_time_overrides(sessions, monkeypatch):
    monkeypatch.setenv("DAILY_COST_LIMIT_OPENAI", "80.00")
    with sessions.begin() as session:
        session.add(ServiceControl(service="llamaparse", daily_limit_usd=Decimal("20"), limit_multiplier=Decimal("0.1")))
    report = cost_report(Ledger(sessions).day_usage(date(2026, 1, 1)), service_budgets(sessions))
    assert report["daily_limits"] == {"llamaparse": Decimal("2.0"), "openai": Decimal("80.00"), "total": Decimal("82.0")}
    assert report["remaining_budget"]["total"] == Decimal("82.0")
    assert report["daily_usage"]["total"] == 0
