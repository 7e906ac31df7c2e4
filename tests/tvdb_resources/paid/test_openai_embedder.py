"""The OpenAI client against the emulator, through the official SDK: vectors, exact pricing, faults, budgets."""

from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import select

from tvdb.db.models import CostEntry, ServiceControl
from tvdb.ledger import CallContext
from tvdb.reservations import BudgetExceeded
from tvdb.tokens import count_tokens
from tvdb_emulators.testing import OPENAI_TEST_KEY
from tvdb_resources.database import DatabaseResource
from tvdb_resources.embedding import EmbedInput
from tvdb_resources.embedding.hashing import feature_hash_vector
from tvdb_resources.ledger import CostLedgerResource
from tvdb_resources.paid.errors import RateLimited, ServiceError, ServiceUnavailable
from tvdb_resources.paid.openai_embedder import OpenAIEmbedder
from tvdb.hashing import sha256_text

PRICE = Decimal("0.02") / 1_000_000


def _items(texts):
    return [EmbedInput(t, sha256_text(t), count_tokens(t)) for t in texts]


@pytest.fixture
def embedder(openai_emulator, database_url, tvdb_env):
    ledger = CostLedgerResource(database=DatabaseResource(url=database_url))
    return OpenAIEmbedder(ledger=ledger, api_key=OPENAI_TEST_KEY, base_url=openai_emulator.base_url)


def _rows(sessions):
    with sessions() as session:
        return session.scalars(select(CostEntry).order_by(CostEntry.id)).all()


def _billed_tokens(emulator) -> int:
    return int(emulator.emulator.billing()["totals"]["tokens"])


def test_vectors_come_back_in_order_and_the_ledger_equals_the_providers_bill(embedder, openai_emulator, sessions):
    texts = [f"document {i} about budgets and ledgers" for i in range(50)]
    vectors = embedder.embed(_items(texts), CallContext(batch_id="b1", asset="chunk_embeddings"))
    assert len(vectors) == 50
    assert np.allclose(vectors[7].values, feature_hash_vector(texts[7], 1536), atol=1e-6)
    assert {v.embedder for v in vectors} == {"openai"}
    [row] = _rows(sessions)
    assert (row.status, row.mode, row.units) == ("settled", "real", sum(count_tokens(t) for t in texts))
    assert row.units == _billed_tokens(openai_emulator)
    assert row.actual_cost == row.units * PRICE and row.batch_id == "b1"


def test_big_inputs_are_packed_into_several_concurrent_requests(embedder, openai_emulator, sessions):
    items = [EmbedInput(f"text {i}", f"{i:064x}", 1) for i in range(5000)]
    assert len(embedder.embed(items, CallContext())) == 5000
    assert len(openai_emulator.emulator.billing()["rows"]) == 3
    assert sum(r.actual_cost for r in _rows(sessions)) == _billed_tokens(openai_emulator) * PRICE


def test_rate_limits_are_retried_after_retry_after(embedder, openai_emulator, sessions):
    openai_emulator.emulator.configure(next_faults=["rate_limit", "server_error"], injected_retry_after_ms=50)
    embedder.embed(_items(["retried text"]), CallContext())
    assert [r.status for r in _rows(sessions)] == ["settled"]
    assert _rows(sessions)[0].units == _billed_tokens(openai_emulator)


def test_insufficient_quota_is_not_retried_and_releases_the_hold(embedder, openai_emulator, sessions):
    openai_emulator.emulator.configure(insufficient_quota=True)
    with pytest.raises(ServiceUnavailable, match="insufficient_quota"):
        embedder.embed(_items(["no credit"]), CallContext())
    requests = openai_emulator.emulator.requests()
    assert len([r for r in requests if "embeddings" in str(r.get("route"))]) == 1
    assert [(r.status, r.actual_cost) for r in _rows(sessions)] == [("released", 0)]


def test_a_wrong_key_is_unavailable_and_never_quoted(embedder, openai_emulator):
    bad = embedder.model_copy(update={"api_key": "sk-wrong-secret-key-123456"})
    with pytest.raises(ServiceUnavailable) as caught:
        bad.embed(_items(["x"]), CallContext())
    assert caught.value.reason == "unauthorized" and "sk-wrong-secret-key-123456" not in str(caught.value)


def test_persistent_rate_limiting_surfaces_as_rate_limited(embedder, openai_emulator):
    openai_emulator.emulator.configure(next_faults=["rate_limit"] * 5, injected_retry_after_ms=10)
    with pytest.raises(RateLimited):
        embedder.embed(_items(["busy"]), CallContext())


def test_a_timeout_settles_at_the_reserved_amount_like_the_provider_bills(embedder, openai_emulator, sessions):
    openai_emulator.emulator.configure(next_faults=["timeout"], hang_s=2)
    slow = embedder.model_copy(update={"timeout_seconds": 0.5})
    with pytest.raises(ServiceError, match="timed out"):
        slow.embed(_items(["slow text here"]), CallContext())
    openai_emulator.emulator.wait_idle()
    [row] = _rows(sessions)
    assert row.status == "settled" and row.actual_cost == count_tokens("slow text here") * PRICE
    assert row.units * PRICE == _billed_tokens(openai_emulator) * PRICE


def test_over_budget_is_refused_before_any_request(embedder, openai_emulator, sessions):
    with sessions.begin() as session:
        session.add(ServiceControl(service="openai", daily_limit_usd=Decimal("0.0000001")))
    with pytest.raises(BudgetExceeded):
        embedder.embed(_items(["this costs more than the budget allows " * 10]), CallContext())
    assert openai_emulator.emulator.billing()["rows"] == []
