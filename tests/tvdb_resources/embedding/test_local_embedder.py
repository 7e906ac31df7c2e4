from decimal import Decimal

import numpy as np
import pytest

from tvdb.budgets import today_utc
from tvdb.ledger import CallContext
from tvdb_resources.database import DatabaseResource
from tvdb_resources.embedding import EmbedInput, LocalEmbedder
from tvdb_resources.embedding.base import pack_requests
from tvdb_resources.embedding.hashing import feature_hash_vector
from tvdb_resources.ledger import CostLedgerResource


def _inputs(texts, tokens=10):
    return [EmbedInput(t, f"{i:064x}", tokens) for i, t in enumerate(texts)]


@pytest.fixture
def ledger(database_url, tvdb_env):
    return CostLedgerResource(database=DatabaseResource(url=database_url))


def test_vectors_are_unit_float32_of_the_model_dimensions():
    vector = feature_hash_vector("budgets and ledgers", 1536)
    assert vector.dtype == np.float32 and vector.shape == (1536,)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-6)


def test_same_text_same_vector_and_similar_texts_are_closer():
    a = feature_hash_vector("the daily budget of the openai service was exceeded", 1536)
    b = feature_hash_vector("the daily budget of the openai service was nearly exceeded", 1536)
    c = feature_hash_vector("a recipe for apple pie with cinnamon", 1536)
    assert np.array_equal(a, feature_hash_vector("the daily budget of the openai service was exceeded", 1536))
    assert float(a @ b) > 0.8 > 0.2 > float(a @ c)


def test_text_without_words_still_gets_a_unit_vector():
    assert np.linalg.norm(feature_hash_vector("…!?", 64)) == pytest.approx(1.0)


def test_requests_are_packed_by_tokens_and_by_count():
    items = _inputs(["x"] * 5000, tokens=100)
    requests = list(pack_requests(items))
    assert [len(r) for r in requests] == [2048, 2048, 904]
    heavy = list(pack_requests(_inputs(["x"] * 100, tokens=8000)))
    assert all(sum(i.tokens for i in r) <= 300_000 for r in heavy) and [len(r) for r in heavy] == [37, 37, 26]


def test_each_request_is_one_free_ledger_row_with_the_shadow_price(ledger):
    embedder = LocalEmbedder(ledger=ledger)
    vectors = embedder.embed(_inputs(["a b", "c d"] * 1500, tokens=10), CallContext(batch_id="b"))
    assert len(vectors) == 3000 and vectors[0].values.shape == (1536,) and vectors[0].embedder == "local"
    usage = ledger.ledger().day_usage(today_utc()).service("openai")
    assert (usage.calls, usage.units, usage.actual_cost) == (2, 30_000, 0)
    assert usage.shadow_cost == Decimal("0.0006")  # 30,000 tokens at $0.02 per million


def test_configured_dimensions_are_honoured_and_checked(ledger):
    assert LocalEmbedder(ledger=ledger, dimensions=256).embed(_inputs(["a"]), CallContext())[0].values.shape == (256,)
    assert LocalEmbedder(ledger=ledger, model="text-embedding-3-large").output_dimensions() == 3072
    with pytest.raises(ValueError, match="cannot produce"):
        LocalEmbedder(ledger=ledger, model="text-embedding-ada-002", dimensions=256).output_dimensions()
