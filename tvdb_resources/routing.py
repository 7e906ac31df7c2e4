"""Mode routing: mock, real or hybrid per service, decided on every call from the database (no restart needed).

- mock: the free local service.
- real: only the paid service; over budget, circuit open or unavailable is a clear failure of the call.
- hybrid: the paid service while it is healthy and the call fits the budget; otherwise the local service, with the
  reason (budget, strict, circuit_open, rate_limited, quota, unauthorized, error) on the ledger row.

The circuit breaker is shared by all processes; a ledger that cannot be read fails closed (no paid call, no fallback
that cannot be recorded either).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TypeVar

from dagster import ConfigurableResource

from tvdb.circuit import HEALTHY, CircuitBreaker
from tvdb.ledger import CallContext
from tvdb.modes import effective_mode
from tvdb.reservations import BudgetExceeded

from .concurrency import in_order
from .database import DatabaseResource
from .embedding.base import EmbedInput, Embedder, Vector, pack_requests
from .embedding.local import LocalEmbedder
from .paid.errors import CircuitOpen, RateLimited, ServiceError
from .paid.llamaparse_parser import LlamaParseParser
from .paid.openai_embedder import OpenAIEmbedder
from .parsing.base import DocumentParser, ParsedText, SourceDocument
from .parsing.local import LocalParser

R = TypeVar("R")
log = logging.getLogger(__name__)


class Routing(ConfigurableResource):
    """Where a service's calls go; the settings of its shared circuit breaker."""

    database: DatabaseResource
    circuit_failure_threshold: int = 5
    circuit_cooldown_seconds: float = 30.0

    def mode(self, service: str) -> str:
        with self.database.sessions()() as session:
            return effective_mode(session, service).mode

    def breaker(self, service: str) -> CircuitBreaker:
        return CircuitBreaker(self.database.resolved_url(), service, self.circuit_failure_threshold,
                              timedelta(seconds=self.circuit_cooldown_seconds))


def route(
    routing: Routing,
    service: str,
    context: CallContext,
    paid: Callable[[], R],
    free: Callable[[CallContext], R],
) -> R:
    mode = routing.mode(service)
    if mode == "mock":
        return free(context)
    breaker = routing.breaker(service)
    try:
        permit = breaker.allow()
        if permit is None:
            raise CircuitOpen(f"{service}: circuit open after repeated failures; retry after the cool-down")
        try:
            result = paid()
        except ServiceError as error:
            if not isinstance(error, (RateLimited, CircuitOpen)):  # busy is not sick
                breaker.record_failure(str(error), fatal=error.fatal)
            raise
        if permit != HEALTHY:
            breaker.record_success()
        return result
    except (BudgetExceeded, ServiceError) as error:
        if mode == "real":
            raise
        reason = error.reason
        log.warning("%s: falling back to the local service (%s): %s", service, reason, error)
        return free(dataclasses.replace(context, fallback_reason=reason))


class RoutedParser(DocumentParser):
    """LlamaParse or the local parser, per the service's mode at the time of each call."""

    routing: Routing
    local: LocalParser
    paid: LlamaParseParser

    def parallelism(self) -> int:
        return self.paid.parallelism()

    def parse(self, document: SourceDocument, context: CallContext) -> ParsedText:
        return route(self.routing, "llamaparse", context,
                     paid=lambda: self.paid.parse(document, context),
                     free=lambda ctx: self.local.parse(document, ctx))


class RoutedEmbedder(Embedder):
    """OpenAI or the local embedder, per request, per the service's mode at the time of each request."""

    routing: Routing
    local: LocalEmbedder
    paid: OpenAIEmbedder

    def reusable(self) -> frozenset[str]:
        return self.local.reusable() if self.routing.mode("openai") == "mock" else self.paid.reusable()

    def embed(self, items: Sequence[EmbedInput], context: CallContext) -> list[Vector]:
        def one(request: list[EmbedInput]) -> list[Vector]:
            return route(self.routing, "openai", context,
                         paid=lambda: self.paid.embed_request(request, context),
                         free=lambda ctx: self.local.embed(request, ctx))

        vectors: list[Vector] = []
        for _, outcome in in_order(one, pack_requests(items), self.paid.workers()):
            if isinstance(outcome, Exception):
                raise outcome
            vectors.extend(outcome)
        return vectors

