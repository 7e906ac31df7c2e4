"""The price table (``pricing.toml``) as exact Decimals."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources

MILLION = Decimal(1_000_000)


class UnknownPriceError(KeyError):
    """A model or tier that the price table does not list: we refuse to guess a price."""


@dataclass(frozen=True)
class EmbeddingModel:
    name: str
    usd_per_token: Decimal
    dimensions: int
    max_input_tokens: int

    def cost(self, tokens: int) -> Decimal:
        return self.usd_per_token * tokens


@dataclass(frozen=True)
class ParseTier:
    name: str
    credits_per_page: int
    usd_per_credit: Decimal

    @property
    def usd_per_page(self) -> Decimal:
        return self.usd_per_credit * self.credits_per_page

    def credits(self, pages: int) -> int:
        return self.credits_per_page * pages

    def cost(self, pages: int) -> Decimal:
        return self.usd_per_page * pages


@dataclass(frozen=True)
class PriceTable:
    embedding_models: dict[str, EmbeddingModel]
    parse_tiers: dict[str, ParseTier]
    chars_per_text_page: int

    def embedding_model(self, name: str) -> EmbeddingModel:
        try:
            return self.embedding_models[name]
        except KeyError:
            raise UnknownPriceError(f"no price for embedding model {name!r}; known: {sorted(self.embedding_models)}") from None

    def parse_tier(self, name: str) -> ParseTier:
        try:
            return self.parse_tiers[name]
        except KeyError:
            raise UnknownPriceError(f"no price for LlamaParse tier {name!r}; known: {sorted(self.parse_tiers)}") from None


@lru_cache(maxsize=1)
def price_table() -> PriceTable:
    raw = tomllib.loads(resources.files("tvdb").joinpath("pricing.toml").read_text(encoding="utf-8"))
    models = {
        name: EmbeddingModel(
            name=name,
            usd_per_token=Decimal(spec["usd_per_million_tokens"]) / MILLION,
            dimensions=int(spec["dimensions"]),
            max_input_tokens=int(spec["max_input_tokens"]),
        )
        for name, spec in raw["openai"]["models"].items()
    }
    parse = raw["llamaparse"]
    usd_per_credit = Decimal(parse["usd_per_1000_credits"]) / 1000
    tiers = {
        name: ParseTier(name=name, credits_per_page=int(credits), usd_per_credit=usd_per_credit)
        for name, credits in parse["credits_per_page"].items()
    }
    return PriceTable(models, tiers, int(parse["chars_per_text_page"]))
