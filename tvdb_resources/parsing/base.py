"""The parser interface: bytes of one document in, its text out, the call priced into the ledger."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from dagster import ConfigurableResource

from tvdb.ledger import CallContext
from tvdb.pricing import ParseTier, price_table

from ..concurrency import in_order
from ..ledger import CostLedgerResource
from .formats import UnparseableDocument

__all__ = ["DocumentParser", "ParsedText", "SourceDocument", "UnparseableDocument"]


@dataclass(frozen=True)
class SourceDocument:
    sha256: str
    filename: str
    mime: str
    data: bytes


@dataclass(frozen=True)
class ParsedText:
    text: str
    pages: int
    parser: str  # which parser and tier produced it, e.g. "local/cost_effective"


class DocumentParser(ConfigurableResource, ABC):
    """Raises ``UnparseableDocument`` for content no parser could read; other errors are the service's."""

    ledger: CostLedgerResource
    tier: str = "cost_effective"

    def price(self) -> ParseTier:
        return price_table().parse_tier(self.tier)

    @abstractmethod
    def parse(self, document: SourceDocument, context: CallContext) -> ParsedText: ...

    def parse_many(
        self, documents: Iterable[SourceDocument], context: CallContext
    ) -> Iterator[tuple[SourceDocument, ParsedText | Exception]]:
        """Each document with its text or the exception it raised, in order; paid parsers run several at once."""
        return in_order(lambda document: self.parse(document, context), documents, self.parallelism())

    def parallelism(self) -> int:
        return 1
