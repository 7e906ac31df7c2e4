"""The LlamaParse client against the emulator, through the llama-cloud SDK: text, credits, cache hits, faults."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from tvdb.db.models import CostEntry
from tvdb.hashing import sha256_bytes
from tvdb.ledger import CallContext
from tvdb_emulators.testing import LLAMAPARSE_TEST_KEY
from tvdb_resources.database import DatabaseResource
from tvdb_resources.ledger import CostLedgerResource
from tvdb_resources.paid.errors import ServiceError, ServiceUnavailable
from tvdb_resources.paid.llamaparse_parser import LlamaParseParser
from tvdb_resources.parsing import SourceDocument, UnparseableDocument

USD_PER_CREDIT = Decimal("1.25") / 1000


@pytest.fixture
def parser(llamaparse_emulator, database_url, tvdb_env):
    ledger = CostLedgerResource(database=DatabaseResource(url=database_url))
    return LlamaParseParser(ledger=ledger, api_key=LLAMAPARSE_TEST_KEY, base_url=llamaparse_emulator.base_url,
                            poll_interval_seconds=0.02, poll_max_interval_seconds=0.1)


def _doc(name: str, data: bytes, mime: str) -> SourceDocument:
    return SourceDocument(sha256_bytes(data), name, mime, data)


def _rows(sessions):
    with sessions() as session:
        return session.scalars(select(CostEntry).order_by(CostEntry.id)).all()


def _billed_credits(emulator) -> int:
    return int(emulator.emulator.billing()["totals"]["credits"])


def test_a_pdf_is_parsed_and_priced_at_the_credits_the_job_reports(parser, llamaparse_emulator, sessions, make_pdf):
    document = _doc("r.pdf", make_pdf(["First page text.", "Second page text."]), "application/pdf")
    parsed = parser.parse(document, CallContext(batch_id="b"))
    assert "First page text." in parsed.text and "Second page text." in parsed.text
    assert parsed.pages == 2 and parsed.parser == "llamaparse/cost_effective"
    [row] = _rows(sessions)
    assert (row.status, row.units, row.model) == ("settled", 6, "cost_effective")
    assert row.units == _billed_credits(llamaparse_emulator) and row.actual_cost == 6 * USD_PER_CREDIT


def test_a_cache_hit_costs_nothing(parser, llamaparse_emulator, sessions):
    document = _doc("a.md", b"# Same file\n\nparsed twice", "text/markdown")
    parser.parse(document, CallContext())
    parser.parse(document, CallContext())
    assert [r.actual_cost for r in _rows(sessions)] == [3 * USD_PER_CREDIT, 0]
    assert _billed_credits(llamaparse_emulator) == 3


def test_jobs_run_concurrently_and_keep_their_order(parser, llamaparse_emulator, sessions):
    documents = [_doc(f"d{i}.txt", f"document number {i}".encode(), "text/plain") for i in range(8)]
    results = list(parser.parse_many(documents, CallContext()))
    assert [d.filename for d, _ in results] == [d.filename for d in documents]
    assert [r.text for _, r in results] == [f"document number {i}" for i in range(8)]
    assert sum(r.actual_cost for r in _rows(sessions)) == _billed_credits(llamaparse_emulator) * USD_PER_CREDIT


def test_out_of_credits_is_unavailable_and_releases_the_hold(parser, llamaparse_emulator, sessions):
    llamaparse_emulator.emulator.configure(insufficient_quota=True)
    with pytest.raises(ServiceUnavailable, match="402"):
        parser.parse(_doc("x.txt", b"words", "text/plain"), CallContext())
    assert [(r.status, r.actual_cost) for r in _rows(sessions)] == [("released", 0)]


def test_server_errors_are_retried(parser, llamaparse_emulator, sessions):
    llamaparse_emulator.emulator.configure(next_faults=["server_error", "rate_limit"], injected_retry_after_ms=20)
    assert parser.parse(_doc("y.txt", b"retry me", "text/plain"), CallContext()).text == "retry me"
    assert [r.status for r in _rows(sessions)] == ["settled"]


def test_content_no_parser_can_read_is_refused_before_paying(parser, llamaparse_emulator, make_pdf, sessions):
    with pytest.raises(UnparseableDocument, match="encrypted"):
        parser.parse(_doc("l.pdf", make_pdf(["x"], password="pw"), "application/pdf"), CallContext())
    assert _rows(sessions) == [] and llamaparse_emulator.emulator.billing()["rows"] == []


def test_outage_fails_clearly(parser, llamaparse_emulator):
    llamaparse_emulator.emulator.configure(outage_for_s=30)
    with pytest.raises(ServiceError, match="LlamaParse: 503"):
        parser.parse(_doc("z.txt", b"down", "text/plain"), CallContext())
