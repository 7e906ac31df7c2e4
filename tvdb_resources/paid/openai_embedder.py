"""Embeddings from OpenAI through the official SDK: packed requests, several in flight, each one priced exactly."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import openai

from tvdb.ledger import CallContext
from tvdb.reservations import PaidCall

from ..concurrency import in_order
from ..embedding.base import OPENAI, EmbedInput, Embedder, Vector, pack_requests, request_key
from .errors import ServiceError, ServiceUnavailable
from .sdk_errors import classify_sdk_error
from .retry import with_retries
from .settings import PaidServiceSettings

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIEmbedder(Embedder, PaidServiceSettings):
    requests_per_minute: int = 3000  # runbook default
    tokens_per_minute: int = 1_000_000

    def _client(self) -> openai.OpenAI:
        if not self.api_key:
            raise ServiceUnavailable("OpenAI: no API key configured (UPLOAD_PIPELINE_OPENAI_API_KEY)", reason="unauthorized")
        return self.sdk_client(lambda: openai.OpenAI(
            api_key=self.api_key, base_url=self.base_url or DEFAULT_BASE_URL,
            max_retries=0,  # our retry loop is the only one: it knows insufficient_quota is not worth retrying
            timeout=self.timeout_seconds,
        ))

    def reusable(self) -> frozenset[str]:
        return frozenset({OPENAI})

    def embed(self, items: Sequence[EmbedInput], context: CallContext) -> list[Vector]:
        vectors: list[Vector] = []
        for _, outcome in in_order(lambda r: self.embed_request(r, context), pack_requests(items), self.workers()):
            if isinstance(outcome, Exception):
                raise outcome
            vectors.extend(outcome)
        return vectors

    def embed_request(self, request: list[EmbedInput], context: CallContext) -> list[Vector]:
        """One API request (already within the limits), metered."""
        spec, dimensions = self.spec(), self.output_dimensions()
        tokens = sum(item.tokens for item in request)
        client = self._client()
        extra = {"dimensions": self.dimensions} if self.dimensions else {}
        meter = self.meter(self.ledger.database.resolved_url(), "openai")
        slots = self.in_flight()

        def create():
            with slots:
                return client.embeddings.create(model=spec.name, input=[item.text for item in request], **extra)

        def send():
            return with_retries(
                meter.limited(create, tokens=tokens),
                lambda exc: classify_sdk_error(exc, openai, "OpenAI", self.api_key),
            )

        response = meter.call(
            PaidCall("openai", "embed", spec.name, tokens, spec.usd_per_token, request_key(spec.name, dimensions, request)),
            context, send, billed_units=lambda r: r.usage.prompt_tokens if r.usage else None,
        )
        vectors = [np.asarray(d.embedding, dtype=np.float32) for d in sorted(response.data, key=lambda d: d.index)]
        if len(vectors) != len(request) or any(v.shape != (dimensions,) for v in vectors):
            raise ServiceError(f"OpenAI returned {len(vectors)} vectors for {len(request)} inputs or wrong dimensions")
        return [Vector(v, OPENAI) for v in vectors]
