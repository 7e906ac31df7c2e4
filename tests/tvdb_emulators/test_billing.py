"""The billing ledger: charges, holds against a quota, and delivery notes."""

from __future__ import annotations

import threading

from tvdb_emulators.billing import BillingLedger


def test_charges_sum_by_group():
    ledger = BillingLedger("tokens", "model")
    ledger.charge(5, {"request_id": "a", "model": "small"})
    ledger.charge(7, {"request_id": "b", "model": "large"})
    ledger.charge(1, {"request_id": "c", "model": "small"})

    snapshot = ledger.snapshot()
    assert snapshot["totals"] == {"tokens": 13, "rows": 3, "pending": 0, "by_model": {"small": 6, "large": 7}}
    assert [row["delivery"] for row in snapshot["rows"]] == ["ok", "ok", "ok"]


def test_holds_count_against_the_quota_until_settled_or_released():
    ledger = BillingLedger("credits", "tier")
    assert ledger.reserve("job-1", 60, quota=100)
    assert not ledger.reserve("job-2", 50, quota=100)  # 60 held + 50 > 100
    ledger.release("job-1")
    assert ledger.reserve("job-2", 50, quota=100)
    ledger.settle("job-2", {"request_id": "r", "tier": "agentic"})

    assert ledger.snapshot()["totals"]["credits"] == 50 and ledger.snapshot()["totals"]["pending"] == 0
    assert not ledger.charge(51, {"request_id": "s", "tier": "fast"}, quota=100)


def test_concurrent_charges_never_overshoot_the_quota():
    ledger = BillingLedger("tokens", "model")
    threads = [threading.Thread(target=ledger.charge, args=(3, {"model": "m"}, 100)) for _ in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ledger.total() == 99


def test_notes_apply_to_rows_billed_later():
    ledger = BillingLedger("credits", "tier")
    ledger.reserve("job", 10)
    ledger.annotate("req-1", delivery="timeout")
    ledger.settle("job", {"request_id": "req-1", "tier": "fast"})
    assert ledger.snapshot()["rows"][0]["delivery"] == "timeout"
