"""Parsing with LlamaParse through the official llama-cloud SDK (v2 parse API).

Jobs of a batch are submitted concurrently (``max_in_flight``) and polled with the SDK's backoff. Each job reserves
its worst case (pages × the tier's credits per page) and settles to the credits the job reports: a cache hit bills 0.
"""

from __future__ import annotations

import io
import time

import llama_cloud
from llama_cloud import LlamaCloud
from llama_cloud._polling import PollingError, PollingTimeoutError
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from tvdb.ledger import CallContext
from tvdb.reservations import PaidCall

from ..parsing.base import DocumentParser, ParsedText, SourceDocument
from ..parsing.formats import UnparseableDocument, extract
from .errors import Billed, ServiceError, ServiceUnavailable
from .retry import with_retries
from .sdk_errors import classify_sdk_error
from .settings import PaidServiceSettings

DEFAULT_BASE_URL = "https://api.cloud.llamaindex.ai"
USAGE_CHECKS = 5  # credits are null until billing has recorded them: look a few times before calling them unknown


def billable_pages(document: SourceDocument) -> int:
    """Pages the job will bill at most, counted locally before paying (and refusing what cannot be parsed)."""
    if document.mime == "application/pdf":
        try:
            reader = PdfReader(io.BytesIO(document.data))
            if reader.is_encrypted:
                raise UnparseableDocument("encrypted PDF: remove the password before uploading")
            return len(reader.pages)
        except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
            raise UnparseableDocument(f"corrupt PDF: {type(exc).__name__}") from None
    return extract(document.data, document.filename).pages


class LlamaParseParser(DocumentParser, PaidServiceSettings):
    requests_per_minute: int = 60  # runbook default
    poll_interval_seconds: float = 1.0
    poll_max_interval_seconds: float = 5.0

    def parallelism(self) -> int:
        return self.workers()

    def _client(self) -> LlamaCloud:
        if not self.api_key:
            raise ServiceUnavailable("LlamaParse: no API key configured (UPLOAD_PIPELINE_LLAMAPARSE_API_KEY)", reason="unauthorized")
        return self.sdk_client(lambda: LlamaCloud(
            api_key=self.api_key, base_url=self.base_url or DEFAULT_BASE_URL, max_retries=0,
            timeout=self.timeout_seconds,
        ))

    def _classify(self, exc: Exception) -> ServiceError | None:
        return classify_sdk_error(exc, llama_cloud, "LlamaParse", self.api_key)

    def parse(self, document: SourceDocument, context: CallContext) -> ParsedText:
        tier = self.price()
        pages = billable_pages(document)
        client = self._client()
        meter = self.meter(self.ledger.database.resolved_url(), "llamaparse")

        def run_job():
            with self.in_flight():
                return job_in_flight()

        def job_in_flight():
            job = with_retries(  # uploads are what LlamaParse rate-limits; polls are not
                meter.limited(lambda: client.parsing.create(
                    tier=tier.name, version="latest", upload_file=(document.filename, document.data)
                )),
                self._classify,
            )
            try:
                client.parsing.wait_for_completion(
                    job.id, polling_interval=self.poll_interval_seconds, max_interval=self.poll_max_interval_seconds,
                    timeout=self.timeout_seconds,
                )
            except PollingError as exc:
                raise ServiceError(f"LlamaParse job failed: {str(exc)[:200]}") from None  # failed jobs bill 0
            except PollingTimeoutError:
                raise ServiceError("LlamaParse job did not finish in time", billed=Billed.UNKNOWN) from None
            return self._result(client, job.id)

        result = meter.call(
            PaidCall("llamaparse", "parse", tier.name, tier.credits(pages), tier.usd_per_credit, document.sha256,
                     exact=document.mime == "application/pdf"),  # a PDF's pages are counted; a text's estimated
            context, run_job, billed_units=_credits,
        )
        result_pages = result.markdown.pages if result.markdown else []
        text = "\n\n".join(page.markdown for page in result_pages if getattr(page, "markdown", None)).strip()
        if not text:
            raise UnparseableDocument("LlamaParse found no text in the document")
        return ParsedText(text=text, pages=len(result_pages), parser=f"llamaparse/{tier.name}")

    def _result(self, client: LlamaCloud, job_id: str):
        for check in range(USAGE_CHECKS):
            result = with_retries(lambda: client.parsing.get(job_id, expand=["markdown", "usage"]), self._classify)
            if _credits(result) is not None:
                return result
            time.sleep(0.2 * (check + 1))
        return result


def _credits(result) -> int | None:
    usage = result.job.usage if result.job else None
    return None if usage is None or usage.credits is None else int(round(usage.credits))
