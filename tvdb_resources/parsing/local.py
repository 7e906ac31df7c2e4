"""The free local parser (mock mode): real text extraction, priced at what LlamaParse would have charged."""

from __future__ import annotations

import time

from tvdb.ledger import CallContext, FreeCall

from .base import DocumentParser, ParsedText, SourceDocument
from .formats import extract


class LocalParser(DocumentParser):
    def parse(self, document: SourceDocument, context: CallContext) -> ParsedText:
        started = time.perf_counter()
        extraction = extract(document.data, document.filename)
        tier = self.price()
        self.ledger.record_free(
            FreeCall(
                service="llamaparse",
                operation="parse",
                model=tier.name,
                units=tier.credits(extraction.pages),
                unit_price=tier.usd_per_credit,
                work_key=document.sha256,
                latency_ms=(time.perf_counter() - started) * 1000,
            ),
            context,
        )
        return ParsedText(text=extraction.text, pages=extraction.pages, parser=f"local/{tier.name}")
