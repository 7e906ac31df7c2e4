"""LlamaParse (LlamaCloud v2 parse API) emulator, for the ``llama_cloud`` 2.x SDK.

Routes: ``POST /api/v2/parse/upload`` (multipart ``file`` + ``configuration`` JSON), ``POST /api/v2/parse``
(JSON with ``file_id``), ``GET /api/v2/parse/{job_id}?expand=...``, ``GET /api/v2/parse`` (list),
``GET /api/v2/parse/versions``, ``POST /api/v2/parse/{job_id}/cancel``, ``DELETE /api/v2/parse/{job_id}``,
``POST /api/v1/beta/files`` and ``GET /api/v1/beta/files/{file_id}`` (the upload behind ``file_id``).

Parsed text is the project's own ``tvdb_resources.parsing.formats.extract(data, filename)``; bytes it cannot parse
give a FAILED job whose ``error_message`` is the parser's reason. Credits: pages x tier rate, see
``llamaparse_jobs``. As in the API, ``job.usage.credits`` is only returned with ``expand=usage``.
Errors are FastAPI-shaped: ``{"detail": ...}``; out of credits is 402.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from typing import Any

from pydantic import Field
from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, Response

from tvdb_resources.parsing import formats

from .base import ApiError, ApiRoute, Call, Emulator
from .knobs import BilledKnobs
from .llamaparse_jobs import (
    CREDITS_PER_PAGE,
    LATEST_VERSION,
    TERMINAL,
    Job,
    JobBook,
    cache_key,
    selected_pages,
    split_pages,
)

DATE_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CONTENT_EXPANDS = ("text", "markdown", "metadata", "markdown_full", "text_full")


class LlamaParseKnobs(BilledKnobs):
    """quota is in credits; insufficient_quota answers every new job with a 402."""

    rate_limit_requests: int | None = Field(50, ge=1, description="parse jobs created per window (~50 per 10 s)")
    rate_limit_window_s: float = Field(10.0, gt=0)
    job_pending_ms: float = Field(100.0, ge=0, description="how long a new job shows PENDING")
    job_running_ms: float = Field(300.0, ge=0, description="how long it then shows RUNNING")
    cache_ttl_s: float = Field(48 * 3600, ge=0, description="a re-parse of the same bytes within this is free")


def detail(status: int, message: Any, headers: dict[str, str] | None = None) -> ApiError:
    return ApiError(status, {"detail": message}, headers)


def missing(*loc: str) -> ApiError:
    return detail(422, [{"type": "missing", "loc": list(loc), "msg": "Field required", "input": None}])


async def form_with_file(call: Call):
    """The multipart form of an upload and its required ``file`` part (422 like the API when it is missing)."""
    form = await call.request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise missing("body", "file")
    return form, upload


class LlamaParseEmulator(Emulator):
    name = "llamaparse"
    knobs_model = LlamaParseKnobs
    billing_unit = "credits"
    billing_group = "tier"

    def reset_state(self) -> None:
        self.project_id = self.ids.new("project")
        self.book = JobBook(self.ledger)
        self.files: dict[str, dict[str, Any]] = {}

    def api_routes(self) -> list[ApiRoute]:
        return [
            ApiRoute("/api/v2/parse/upload", "parse.upload", ("POST",), self.upload),
            ApiRoute("/api/v2/parse/versions", "parse.versions", ("GET",), self.versions),
            ApiRoute("/api/v2/parse", "parse.create", ("POST",), self.create),
            ApiRoute("/api/v2/parse", "parse.list", ("GET",), self.list_jobs),
            ApiRoute("/api/v2/parse/{job_id}", "parse.get", ("GET",), self.get),
            ApiRoute("/api/v2/parse/{job_id}", "parse.delete", ("DELETE",), self.delete),
            ApiRoute("/api/v2/parse/{job_id}/cancel", "parse.cancel", ("POST",), self.cancel),
            ApiRoute("/api/v1/beta/files", "files.create", ("POST",), self.create_file),
            ApiRoute("/api/v1/beta/files/{file_id}", "files.get", ("GET",), self.get_file),
        ]

    def error_body(self, status: int, kind: str, message: str) -> Any:
        return {"detail": message}

    def billing(self) -> dict[str, Any]:
        self._settle()
        snapshot = self.ledger.snapshot()
        rows = snapshot["rows"]
        snapshot["totals"].update(
            billed_pages=sum(row["pages"] for row in rows if row["status"] == "COMPLETED" and not row["cache_hit"]),
            cache_hits=sum(1 for row in rows if row["cache_hit"]),
            jobs=len(rows),
        )
        return snapshot

    # ---- helpers ---------------------------------------------------------------------------------------------

    def _settle(self) -> float:
        now = self.clock.now()
        self.book.settle(now, self.iso_time)
        return now

    def _job(self, call: Call) -> Job:
        job = self.book.jobs.get(call.request.path_params["job_id"])
        if job is None:
            raise detail(404, "Job not found")
        return job

    def job_view(self, job: Job, now: float, usage: bool = False) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": job.id, "project_id": job.project_id, "status": job.status(now), "tier": job.tier,
            "name": job.name, "created_at": self.iso_time(job.created_s),
            "updated_at": self.iso_time(job.updated_s(now)),
            "error_message": job.error_message if job.status(now) == "FAILED" else None,
            "user_metadata": job.user_metadata,
        }
        if usage:
            view["usage"] = {"credits": job.billed_credits(now)}
        return view

    # ---- job creation ----------------------------------------------------------------------------------------

    async def upload(self, call: Call) -> Response:
        form, upload = await form_with_file(call)
        raw_config = form.get("configuration")
        if not isinstance(raw_config, str):
            raise missing("body", "configuration")
        try:
            config = json.loads(raw_config)
        except ValueError:
            raise detail(422, [{"type": "json_invalid", "loc": ["body", "configuration"],
                                "msg": "Invalid JSON", "input": raw_config[:200]}]) from None
        if not isinstance(config, dict):
            raise detail(422, "configuration must be a JSON object")
        return await self._new_job(call, await upload.read(), upload.filename or "upload", config)

    async def create(self, call: Call) -> Response:
        try:
            config = json.loads(await call.request.body())
        except ValueError:
            raise detail(422, "the body must be JSON") from None
        if not isinstance(config, dict):
            raise detail(422, "the body must be a JSON object")
        if config.get("source_url"):
            raise detail(400, "The emulator cannot fetch source_url; upload the file or pass a file_id.")
        file_id = config.get("file_id")
        if not file_id:
            raise detail(400, "Provide either file_id or source_url.")
        stored = self.files.get(file_id)
        if stored is None:
            raise detail(404, f"File {file_id} not found")
        return await self._new_job(call, stored["data"], stored["name"], config)

    def _tier_and_version(self, config: dict[str, Any]) -> tuple[str, str]:
        tier, version = config.get("tier"), config.get("version")
        if tier is None:
            raise missing("body", "tier")
        if tier not in CREDITS_PER_PAGE:
            raise detail(422, [{"type": "literal_error", "loc": ["body", "tier"], "input": tier,
                                "msg": f"Input should be {', '.join(map(repr, CREDITS_PER_PAGE))}"}])
        if version is None:
            raise missing("body", "version")
        if version != "latest" and not DATE_VERSION.match(str(version)):
            raise detail(422, [{"type": "value_error", "loc": ["body", "version"], "input": version,
                                "msg": "version must be 'latest' or a dated version (GET /api/v2/parse/versions)"}])
        return tier, LATEST_VERSION[tier] if version == "latest" else str(version)

    async def _new_job(self, call: Call, data: bytes, filename: str, config: dict[str, Any]) -> Response:
        tier, version = self._tier_and_version(config)
        knobs = call.knobs
        decision = self.limiter.acquire()
        call.headers.update(decision.headers)
        if not decision.allowed:
            limit = f"{knobs.rate_limit_requests} requests per {knobs.rate_limit_window_s:g} seconds"
            raise detail(429, f"Rate limit exceeded: {limit}.", decision.retry_headers())
        if knobs.insufficient_quota:
            raise detail(402, "Insufficient credits. Upgrade your plan or wait for your next billing cycle.")
        job = await asyncio.to_thread(self._parsed_job, call, data, filename, tier, version, config)
        key = cache_key(data, tier, sorted(job.pages)) if job.outcome == "COMPLETED" else None
        if key and not config.get("disable_cache") and self.book.cached(key, job.created_s, knobs.cache_ttl_s):
            job.cache_hit, job.credits = True, 0
        if not self.book.add(job, key, knobs.quota):
            raise detail(402, f"Insufficient credits: this job needs {job.credits} credits. Upgrade your plan or "
                              "wait for your next billing cycle.")
        return JSONResponse(self.job_view(job, self.clock.now()))

    def _parsed_job(self, call: Call, data: bytes, filename: str, tier: str, version: str,
                    config: dict[str, Any]) -> Job:
        knobs = call.knobs
        now = self.clock.now()
        job = Job(
            id=self.ids.new("job"), project_id=self.project_id, request_id=call.request_id, tier=tier,
            version=version, name=filename, file_sha256=hashlib.sha256(data).hexdigest(), created_s=now,
            pending_s=knobs.job_pending_ms / 1000,
            running_s=knobs.job_running_ms / 1000, outcome="COMPLETED", user_metadata=config.get("user_metadata"),
        )
        try:
            extraction = formats.extract(data, filename)
        except formats.UnparseableDocument as exc:
            job.outcome, job.error_message = "FAILED", exc.reason
            return job
        try:
            wanted = selected_pages(extraction.pages, config.get("page_ranges"))
        except (AttributeError, TypeError, ValueError) as exc:
            raise detail(422, f"invalid page_ranges: {exc}") from None
        # A PDF's pages are its own; a text-like document's one text is shared out over its billable pages.
        texts = (formats.pdf_pages(data) if extraction.mime == "application/pdf"
                 else split_pages(extraction.text, extraction.pages))
        job.pages = {number: texts[number - 1] for number in wanted}
        job.total_pages, job.mime = extraction.pages, extraction.mime
        job.credits = len(wanted) * CREDITS_PER_PAGE[tier]
        if not wanted:
            job.outcome, job.error_message, job.credits = "FAILED", "page_ranges selects no page", 0
        return job

    # ---- job reads and control -------------------------------------------------------------------------------

    async def get(self, call: Call) -> Response:
        now = self._settle()
        job = self._job(call)
        expand = {part for value in call.request.query_params.getlist("expand") for part in value.split(",")}
        body: dict[str, Any] = {"job": self.job_view(job, now, usage="usage" in expand)}
        if "job_metadata" in expand:
            body["job_metadata"] = {
                "job_pages": len(job.pages), "job_is_cache_hit": job.cache_hit,
                "job_credits_usage": job.billed_credits(now), "document_pages": job.total_pages,
                "mime_type": job.mime, "file_name": job.name, "file_sha256": job.file_sha256,
                "tier": job.tier, "version": job.version,
            }
        if job.status(now) == "COMPLETED":
            body.update(self._content(job, expand & set(CONTENT_EXPANDS)))
        return JSONResponse(body)

    def _content(self, job: Job, expand: set[str]) -> dict[str, Any]:
        pages = sorted(job.pages.items())
        content: dict[str, Any] = {}
        if "text" in expand:
            content["text"] = {"pages": [{"page_number": n, "text": t} for n, t in pages]}
        if "markdown" in expand:
            content["markdown"] = {"pages": [{"page_number": n, "markdown": t, "success": True} for n, t in pages]}
        if "metadata" in expand:
            content["metadata"] = {"pages": [{"page_number": n} for n, _ in pages]}
        if "text_full" in expand:
            content["text_full"] = "".join(t for _, t in pages)
        if "markdown_full" in expand:
            content["markdown_full"] = "".join(t for _, t in pages)
        return content

    async def list_jobs(self, call: Call) -> Response:
        now = self._settle()
        query = call.request.query_params
        wanted_ids = {part for value in query.getlist("job_ids") for part in value.split(",")}
        jobs = [job for job in self.book.jobs.values()
                if (not query.get("status") or job.status(now) == query["status"])
                and (not wanted_ids or job.id in wanted_ids)]
        start = int(query.get("page_token") or 0)
        size = int(query.get("page_size") or 50)
        page = jobs[start:start + size]
        more = start + size < len(jobs)
        return JSONResponse({"items": [self.job_view(job, now, usage=True) for job in page],
                             "next_page_token": str(start + size) if more else None})

    async def cancel(self, call: Call) -> Response:
        now = self._settle()
        job = self._job(call)
        if job.status(now) in TERMINAL:
            raise detail(400, f"Job {job.id} is already {job.status(now)} and cannot be cancelled")
        self.book.cancel(job, now)
        now = self._settle()
        return JSONResponse(self.job_view(job, now, usage=True))

    async def delete(self, call: Call) -> Response:
        now = self._settle()
        job = self._job(call)
        if job.status(now) not in TERMINAL:
            raise detail(400, f"Job {job.id} is {job.status(now)}; cancel it before deleting it")
        self.book.delete(job.id)
        return JSONResponse({"id": job.id, "project_id": job.project_id})

    async def versions(self, call: Call) -> Response:
        body: dict[str, Any] = {tier: [version] for tier, version in LATEST_VERSION.items()}
        body["latest"] = dict(LATEST_VERSION)
        return JSONResponse(body)

    # ---- files -----------------------------------------------------------------------------------------------

    async def create_file(self, call: Call) -> Response:
        form, upload = await form_with_file(call)
        purpose = form.get("purpose")
        if not isinstance(purpose, str) or not purpose:
            raise missing("body", "purpose")
        file_id = "dfl-" + self.ids.new("file")
        name = upload.filename or "upload"
        self.files[file_id] = {"data": await upload.read(), "name": name, "purpose": purpose,
                               "created_s": self.clock.now()}
        return JSONResponse(self._file_view(file_id))

    async def get_file(self, call: Call) -> Response:
        file_id = call.request.path_params["file_id"]
        if file_id not in self.files:
            raise detail(404, f"File {file_id} not found")
        return JSONResponse(self._file_view(file_id))

    def _file_view(self, file_id: str) -> dict[str, Any]:
        stored = self.files[file_id]
        name = stored["name"]
        return {"id": file_id, "name": name, "project_id": self.project_id, "purpose": stored["purpose"],
                "file_type": name.rsplit(".", 1)[-1].lower() if "." in name else None,
                "last_modified_at": self.iso_time(stored["created_s"]), "expires_at": None}
