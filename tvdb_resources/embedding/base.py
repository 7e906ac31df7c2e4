"""The embedder interface: chunk texts in, float32 vectors out, each request priced into the ledger."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from dagster import ConfigurableResource

from tvdb.hashing import sha256_text
from tvdb.ledger import CallContext
from tvdb.pricing import EmbeddingModel, price_table

from ..ledger import CostLedgerResource

# OpenAI's per-request limits (reference sheet); the local embedder keeps them too, so batches look the same.
MAX_INPUTS_PER_REQUEST = 2048
MAX_TOKENS_PER_REQUEST = 300_000


LOCAL, OPENAI = "local", "openai"


@dataclass(frozen=True)
class Vector:
    values: np.ndarray  # float32, L2-normalised
    embedder: str  # who made it: vectors of the local embedder and of OpenAI live in different spaces


@dataclass(frozen=True)
class EmbedInput:
    text: str
    text_sha256: str
    tokens: int


def pack_requests(
    items: Sequence[EmbedInput],
    max_inputs: int = MAX_INPUTS_PER_REQUEST,
    max_tokens: int = MAX_TOKENS_PER_REQUEST,
) -> Iterator[list[EmbedInput]]:
    """Group inputs into requests by token count and input count, in order."""
    request: list[EmbedInput] = []
    tokens = 0
    for item in items:
        if request and (len(request) == max_inputs or tokens + item.tokens > max_tokens):
            yield request
            request, tokens = [], 0
        request.append(item)
        tokens += item.tokens
    if request:
        yield request


def request_key(model: str, dimensions: int, request: Sequence[EmbedInput]) -> str:
    """The work a request does: what the idempotency key of its ledger row is made of."""
    return sha256_text(f"{model}|{dimensions}|" + ",".join(item.text_sha256 for item in request))


class Embedder(ConfigurableResource, ABC):
    ledger: CostLedgerResource
    model: str = "text-embedding-3-small"
    dimensions: int = 0  # 0: the model's native dimensions

    def spec(self) -> EmbeddingModel:
        return price_table().embedding_model(self.model)

    def output_dimensions(self) -> int:
        native = self.spec().dimensions
        if self.dimensions == 0:
            return native
        if not 0 < self.dimensions <= native or (self.dimensions != native and not self.model.startswith("text-embedding-3")):
            raise ValueError(f"{self.model} cannot produce {self.dimensions}-dimensional vectors (native {native})")
        return self.dimensions

    @abstractmethod
    def embed(self, items: Sequence[EmbedInput], context: CallContext) -> list[Vector]:
        """One vector per item, in order; packs the items into requests within the API's limits."""

    @abstractmethod
    def reusable(self) -> frozenset[str]:
        """Which embedders' cached vectors this one may reuse instead of embedding again."""
