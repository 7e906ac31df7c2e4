"""Pins the public prices of the reference sheet: a wrong price must fail loudly, not misprice silently."""

from decimal import Decimal

import pytest

from tvdb.pricing import UnknownPriceError, price_table


@pytest.mark.parametrize(
    "model, per_million, dimensions",
    [("text-embedding-3-small", "0.02", 1536), ("text-embedding-3-large", "0.13", 3072),
     ("text-embedding-ada-002", "0.10", 1536)],
)
def test_embedding_prices_and_dimensions(model, per_million, dimensions):
    spec = price_table().embedding_model(model)
    assert spec.cost(1_000_000) == Decimal(per_million)
    assert spec.dimensions == dimensions
    assert spec.max_input_tokens == 8192


@pytest.mark.parametrize("tier, credits", [("fast", 1), ("cost_effective", 3), ("agentic", 10), ("agentic_plus", 45)])
def test_parse_tiers_bill_credits_per_page_at_1_25_per_thousand(tier, credits):
    spec = price_table().parse_tier(tier)
    assert spec.credits(2) == 2 * credits
    assert spec.cost(1000) == Decimal("1.25") * credits


def test_prices_are_exact_decimals():
    assert price_table().embedding_model("text-embedding-3-small").cost(1) == Decimal("0.00000002")


def test_unknown_model_or_tier_is_refused_not_guessed():
    with pytest.raises(UnknownPriceError, match="no price for embedding model"):
        price_table().embedding_model("text-embedding-4")
    with pytest.raises(UnknownPriceError, match="no price for LlamaParse tier"):
        price_table().parse_tier("premium")
