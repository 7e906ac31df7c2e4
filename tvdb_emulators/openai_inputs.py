"""An embeddings request body checked the way the OpenAI API checks it, into texts and their token counts.

Limits and error types follow the API: <= 2048 inputs, <= 8192 tokens per input, <= 300,000 tokens per request
(type and code ``max_tokens_per_request``), no empty strings, ``dimensions`` only on text-embedding-3 models.
Token counts use the project's cl100k_base counter, so ``usage`` equals what the product counts locally.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tvdb import tokens

from .base import ApiError

MAX_INPUTS = 2048
MAX_INPUT_TOKENS = 8192
MAX_REQUEST_TOKENS = 300_000
KNOWN_FIELDS = {"model", "input", "encoding_format", "dimensions", "user"}
INVALID_INPUT = "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."


@dataclass(frozen=True)
class EmbeddingModel:
    id: str
    dimensions: int
    custom_dimensions: bool
    created: int


MODELS = {
    m.id: m
    for m in (
        EmbeddingModel("text-embedding-3-small", 1536, True, 1705948997),
        EmbeddingModel("text-embedding-3-large", 3072, True, 1705953180),
        EmbeddingModel("text-embedding-ada-002", 1536, False, 1671217299),
    )
}


@dataclass(frozen=True)
class EmbeddingRequest:
    model: EmbeddingModel
    texts: list[str]  # token-array inputs are decoded, so their vectors equal those of the same text
    token_counts: list[int]
    encoding_format: str
    dimensions: int

    @property
    def total_tokens(self) -> int:
        return sum(self.token_counts)


def invalid(
    message: str, param: str | None = None, code: str | None = None,
    type: str = "invalid_request_error", status: int = 400,
) -> ApiError:
    return ApiError(status, {"error": {"message": message, "type": type, "param": param, "code": code}})


def parse_embedding_request(raw: bytes) -> EmbeddingRequest:
    try:
        body = json.loads(raw)
    except ValueError:
        raise invalid(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
            "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
        ) from None
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    unknown = sorted(set(body) - KNOWN_FIELDS)
    if unknown:
        raise invalid(f"Unrecognized request argument supplied: {unknown[0]}")
    model = _model(body.get("model"))
    encoding_format = body.get("encoding_format") or "float"
    if encoding_format not in ("float", "base64"):
        raise invalid(f"{encoding_format!r} is not one of ['float', 'base64'] - 'encoding_format'",
                      param="encoding_format")
    dimensions = _dimensions(model, body.get("dimensions"))
    texts, counts = _inputs(body.get("input"))
    for count in counts:
        if count > MAX_INPUT_TOKENS:
            raise invalid(
                f"This model's maximum context length is {MAX_INPUT_TOKENS} tokens, however you requested {count} "
                f"tokens ({count} in your prompt; 0 for the completion). Please reduce your prompt; or completion "
                "length."
            )
    total = sum(counts)
    if total > MAX_REQUEST_TOKENS:
        raise invalid(f"Requested {total} tokens, max {MAX_REQUEST_TOKENS} tokens per request",
                      type="max_tokens_per_request", code="max_tokens_per_request")
    return EmbeddingRequest(model, texts, counts, encoding_format, dimensions)


def _model(name: Any) -> EmbeddingModel:
    if not name:
        raise invalid("you must provide a model parameter")
    if not isinstance(name, str) or name not in MODELS:
        raise invalid(f"The model `{name}` does not exist or you do not have access to it.",
                      code="model_not_found", status=404)
    return MODELS[name]


def _dimensions(model: EmbeddingModel, value: Any) -> int:
    if value is None:
        return model.dimensions
    if not model.custom_dimensions:
        raise invalid("This model does not support specifying dimensions.", param="dimensions")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= model.dimensions:
        raise invalid(f"Invalid value for 'dimensions' = {value}. Must be an integer between 1 and "
                      f"{model.dimensions} for {model.id}.", param="dimensions")
    return value


def _is_token_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(t, int) and not isinstance(t, bool) for t in value
    )


def _inputs(value: Any) -> tuple[list[str], list[int]]:
    if value is None:
        raise invalid("'input' is a required property")
    if isinstance(value, str) or _is_token_array(value):
        items: list[Any] = [value]
    elif isinstance(value, list) and value:
        items = value
    else:
        raise invalid(INVALID_INPUT)
    if len(items) > MAX_INPUTS:
        raise invalid(f"'$.input' is invalid: {len(items)} inputs given, at most {MAX_INPUTS} are allowed per "
                      "request.", param="input")
    if not (all(isinstance(i, str) for i in items) or all(_is_token_array(i) for i in items)):
        raise invalid(INVALID_INPUT)
    if isinstance(items[0], str):
        if any(text == "" for text in items):
            raise invalid(INVALID_INPUT)
        return list(items), [tokens.count_tokens(text) for text in items]
    vocabulary = tokens.encoding().n_vocab
    for ids in items:
        bad = next((t for t in ids if not 0 <= t < vocabulary), None)
        if bad is not None:
            raise invalid(f"Invalid token id {bad} in '$.input': ids must be in [0, {vocabulary}).", param="input")
    return [tokens.encoding().decode(ids) for ids in items], [len(ids) for ids in items]
