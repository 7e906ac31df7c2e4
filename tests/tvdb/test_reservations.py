"""Reserve-then-settle on SQLite and PostgreSQL: exact totals, refusals, releases, expiry, and no overshoot."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tvdb.db.models import CostEntry, ServiceControl, ServiceSpend
from tvdb.db.types import utcnow
from tvdb.ledger import CallContext
from tvdb.reservations import BudgetExceeded, LedgerUnavailable, PaidCall, Reservations

PRICE = Decimal("0.00000002")


def _call(work: str, tokens: int = 1_000_000) -> PaidCall:
    return PaidCall("openai", "embed", "text-embedding-3-small", tokens, PRICE, work)


@pytest.fixture
def book(sessions, database_url, monkeypatch):
    monkeypatch.setenv("DAILY_COST_LIMIT_OPENAI", "0.10")  # five 1M-token calls
    return Reservations(database_url)


def _totals(sessions):
    with sessions() as session:
        spend = session.get(ServiceSpend, ("openai", utcnow().date()))
        settled = session.scalar(select(func.coalesce(func.sum(CostEntry.actual_cost), 0)))
        held = session.scalar(select(func.coalesce(func.sum(CostEntry.estimated_cost), 0))
                              .where(CostEntry.status == "reserved"))
    return spend.spent_usd, spend.reserved_usd, Decimal(settled), Decimal(held)


def test_reserve_then_settle_records_the_billed_cost(book, sessions):
    hold = book.reserve(_call("a"), CallContext(batch_id="b"))
    assert _totals(sessions) == (0, Decimal("0.02"), 0, Decimal("0.02"))
    book.settle(hold, units=600_000, latency_ms=12.0)
    spent, reserved, settled, held = _totals(sessions)
    assert (spent, reserved, settled, held) == (Decimal("0.012"), 0, Decimal("0.012"), 0)
    with sessions() as session:
        entry = session.get(CostEntry, hold.entry_id)
    assert (entry.status, entry.units, entry.mode, entry.batch_id) == ("settled", 600_000, "real", "b")


def test_what_does_not_fit_is_refused(book):
    for i in range(5):
        book.reserve(_call(f"w{i}"), CallContext())
    with pytest.raises(BudgetExceeded, match="openai daily budget exhausted"):
        book.reserve(_call("one-too-many"), CallContext())
    assert book.remaining("openai") == 0


def test_release_gives_the_hold_back_and_unknown_outcomes_count_in_full(book, sessions):
    book.release(book.reserve(_call("refused"), CallContext()))
    book.settle_unknown(book.reserve(_call("timed-out"), CallContext()))
    spent, reserved, settled, _ = _totals(sessions)
    assert (spent, reserved, settled) == (Decimal("0.02"), 0, Decimal("0.02"))
    assert book.remaining("openai") == Decimal("0.08")


def test_expired_holds_are_swept_at_the_reserved_amount(book, sessions):
    book.reserve(_call("dead-worker"), CallContext(), ttl=timedelta(seconds=-1))
    live = book.reserve(_call("live-worker"), CallContext())
    assert book.sweep() == 1
    spent, reserved, _, _ = _totals(sessions)
    assert (spent, reserved) == (Decimal("0.02"), Decimal("0.02"))
    book.settle(live, units=1_000_000)
    assert book.sweep() == 0
    with sessions() as session:
        assert sorted(session.scalars(select(CostEntry.status))) == ["expired", "settled"]


def test_a_retry_of_the_same_work_is_a_new_attempt_and_the_open_hold_is_counted(book, sessions):
    first = book.reserve(_call("same"), CallContext())
    second = book.reserve(_call("same"), CallContext())  # the first holder died mid-call
    book.settle(second, units=1_000_000)
    book.settle(first, units=1_000_000)  # arrives late: already counted at its reserved amount, not twice
    with sessions() as session:
        rows = session.execute(select(CostEntry.idempotency_key, CostEntry.status).order_by(CostEntry.id)).all()
    assert [key.rsplit(":", 1)[1] for key, _ in rows] == ["1", "2"]
    assert [status for _, status in rows] == ["expired", "settled"]
    assert _totals(sessions)[:2] == (Decimal("0.04"), 0)


def test_run_time_limit_and_multiplier_apply_on_the_next_call(book, sessions):
    with sessions.begin() as session:
        session.add(ServiceControl(service="openai", daily_limit_usd=Decimal("1.00"), limit_multiplier=Decimal("0.1")))
    assert book.remaining("openai") == Decimal("0.1")


@pytest.mark.parametrize("url", [
    "sqlite:////dev/null/cannot-exist/tvdb.db",
    pytest.param("postgresql+psycopg://postgres@127.0.0.1:5432/tvdb_no_such_database", marks=pytest.mark.postgres),
])
def test_fail_closed_when_the_ledger_cannot_be_read(url):
    with pytest.raises(LedgerUnavailable, match="no paid call made"):
        Reservations(url).reserve(_call("x"), CallContext())


def test_concurrent_reservations_never_overshoot(book, sessions):
    refused, held = [], []

    def worker(n):
        for i in range(6):
            try:
                held.append(book.reserve(_call(f"t{n}-{i}", tokens=700_000), CallContext()))
            except BudgetExceeded:
                refused.append(1)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(held) == 7  # floor(0.10 / 0.014)
    assert len(held) + len(refused) == 48
    spent, reserved, _, in_ledger = _totals(sessions)
    assert reserved == in_ledger == Decimal("0.098") <= Decimal("0.10")


def test_strict_limits_refuse_estimates_and_admit_exact_bounds(book, sessions):
    from tvdb.budgets import set_controls
    from tvdb.reservations import StrictLimitRefusal

    set_controls(sessions, "openai", strict=True, multiplier=Decimal("0.5"))
    estimate = PaidCall("openai", "embed", "m", 1000, PRICE, "estimated", exact=False)
    with pytest.raises(StrictLimitRefusal, match="estimate"):
        book.reserve(estimate, CallContext())
    book.reserve(_call("exact"), CallContext())
    assert book.remaining("openai") == Decimal("0.03")  # 0.10 x 0.5 - 0.02
