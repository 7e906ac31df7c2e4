"""OpenAI embeddings emulator: ``POST /v1/embeddings`` and ``GET /v1/models`` as the ``openai`` SDK expects them.

Vectors are the project's deterministic feature-hash vectors (``feature_hash_vector(text, dimensions)``), returned
as JSON floats or, for ``encoding_format=base64`` (the SDK's default), packed little-endian float32. Every response
carries ``x-ratelimit-*`` headers; rate limits are token buckets (defaults: tier-1 embedding limits, 3,000 RPM and
1,000,000 TPM). Billing is ``usage.prompt_tokens`` per successful request, counted with cl100k_base.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import numpy as np
from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tvdb_resources.embedding import hashing

from .base import ApiError, ApiRoute, Call, Emulator
from .knobs import BilledKnobs
from .openai_inputs import MODELS, EmbeddingRequest, invalid, parse_embedding_request
from .ratelimit import Decision, go_duration

OPENAI_ERROR_TYPES = {
    "server_error": ("server_error", None),
    "unavailable": ("server_error", None),
    "gateway_timeout": ("timeout", None),
    "rate_limited": ("requests", "rate_limit_exceeded"),
    "unauthorized": ("invalid_request_error", "invalid_api_key"),
}
QUOTA_MESSAGE = (
    "You exceeded your current quota, please check your plan and billing details. For more information on this "
    "error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors."
)


class OpenAIKnobs(BilledKnobs):
    """quota is in tokens; insufficient_quota refuses every embeddings request with OpenAI's 429."""

    rate_limit_requests: int | None = Field(3000, ge=1, description="requests per window (RPM); tier-1 default")
    rate_limit_tokens: int | None = Field(1_000_000, ge=1, description="tokens per window (TPM); tier-1 default")


class OpenAIEmulator(Emulator):
    name = "openai"
    knobs_model = OpenAIKnobs
    billing_unit = "tokens"
    billing_group = "model"
    api_prefix = "/v1"

    def api_routes(self) -> list[ApiRoute]:
        return [
            ApiRoute("/v1/embeddings", "embeddings", ("POST",), self.embeddings),
            ApiRoute("/v1/models", "models.list", ("GET",), self.list_models),
            ApiRoute("/v1/models/{model:path}", "models.retrieve", ("GET",), self.retrieve_model),
        ]

    def error_body(self, status: int, kind: str, message: str) -> Any:
        error_type, code = OPENAI_ERROR_TYPES.get(kind, ("server_error", None))
        if kind == "unavailable":
            message = "The server is overloaded or not ready yet."
        return {"error": {"message": message, "type": error_type, "param": None, "code": code}}

    def auth_error(self, request: Request) -> ApiError:
        if self.presented_key(request) is None:
            return invalid(
                "You didn't provide an API key. You need to provide your API key in an Authorization header using "
                "Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", status=401)
        # The real message echoes a masked key; this one echoes nothing, so no part of a key reaches a log.
        return invalid("Incorrect API key provided: ********. You can find your API key at "
                       "https://platform.openai.com/account/api-keys.", code="invalid_api_key", status=401)

    async def embeddings(self, call: Call) -> Response:
        started = time.monotonic()
        request = await asyncio.to_thread(parse_embedding_request, await call.request.body())
        knobs = call.knobs
        if knobs.insufficient_quota:
            raise invalid(QUOTA_MESSAGE, type="insufficient_quota", code="insufficient_quota", status=429)
        decision = self.limiter.acquire(request.total_tokens)
        call.headers.update(decision.headers)
        if not decision.allowed:
            raise rate_limit_error(decision, request.model.id)
        row = {"request_id": call.request_id, "model": request.model.id, "inputs": len(request.texts),
               "at": self.iso_time()}
        if not self.ledger.charge(request.total_tokens, row, knobs.quota):
            raise invalid(QUOTA_MESSAGE, type="insufficient_quota", code="insufficient_quota", status=429)
        data = await asyncio.to_thread(embedding_data, request)
        call.headers.update({
            "openai-model": request.model.id,
            "openai-version": "2020-10-01",
            "openai-processing-ms": str(round((time.monotonic() - started) * 1000)),
        })
        usage = {"prompt_tokens": request.total_tokens, "total_tokens": request.total_tokens}
        return JSONResponse({"object": "list", "data": data, "model": request.model.id, "usage": usage})

    async def list_models(self, call: Call) -> Response:
        return JSONResponse({"object": "list", "data": [model_object(name) for name in MODELS]})

    async def retrieve_model(self, call: Call) -> Response:
        name = call.request.path_params["model"]
        if name not in MODELS:
            raise invalid(f"The model '{name}' does not exist", param="model", code="model_not_found", status=404)
        return JSONResponse(model_object(name))


def model_object(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": MODELS[name].created, "owned_by": "system"}


def embedding_data(request: EmbeddingRequest) -> list[dict[str, Any]]:
    data = []
    for index, text in enumerate(request.texts):
        vector = hashing.feature_hash_vector(text, request.dimensions)
        if request.encoding_format == "base64":
            encoded: Any = base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
        else:
            encoded = np.asarray(vector, dtype=np.float32).tolist()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    return data


def rate_limit_error(decision: Decision, model: str) -> ApiError:
    unit = "requests per min (RPM)" if decision.limited_by == "requests" else "tokens per min (TPM)"
    if decision.retry_after_s is None:
        message = (f"Request too large for {model} in organization org-emulator on {unit}: Limit {decision.limit}, "
                   f"Requested {decision.requested}. The input or output tokens must be reduced in order to run "
                   "successfully.")
    else:
        message = (f"Rate limit reached for {model} in organization org-emulator on {unit}: Limit {decision.limit}, "
                   f"Used {decision.used}, Requested {decision.requested}. Please try again in "
                   f"{go_duration(decision.retry_after_s)}. Visit https://platform.openai.com/account/rate-limits "
                   "to learn more.")
    body = {"error": {"message": message, "type": decision.limited_by, "param": None, "code": "rate_limit_exceeded"}}
    return ApiError(429, body, decision.retry_headers())
