"""The free local embedder (mock mode): deterministic feature-hashing vectors, priced at OpenAI's list price."""

from __future__ import annotations

import time
from collections.abc import Sequence

from tvdb.ledger import CallContext, FreeCall

from .base import LOCAL, OPENAI, EmbedInput, Embedder, Vector, pack_requests, request_key
from .hashing import feature_hash_vector


class LocalEmbedder(Embedder):
    def reusable(self) -> frozenset[str]:
        return frozenset({LOCAL, OPENAI})  # free mode happily serves vectors that were paid for earlier

    def embed(self, items: Sequence[EmbedInput], context: CallContext) -> list[Vector]:
        spec, dimensions = self.spec(), self.output_dimensions()
        vectors: list[Vector] = []
        for request in pack_requests(items):
            started = time.perf_counter()
            vectors.extend(Vector(feature_hash_vector(item.text, dimensions), LOCAL) for item in request)
            self.ledger.record_free(
                FreeCall(
                    service="openai",
                    operation="embed",
                    model=spec.name,
                    units=sum(item.tokens for item in request),
                    unit_price=spec.usd_per_token,
                    work_key=request_key(spec.name, dimensions, request),
                    latency_ms=(time.perf_counter() - started) * 1000,
                ),
                context,
            )
        return vectors
