"""The OpenAI emulator driven through the official ``openai`` SDK."""

from __future__ import annotations

import base64

import numpy as np
import openai
import pytest

from tvdb.tokens import count_tokens, encode
from tvdb_emulators.testing import OPENAI_TEST_KEY
from tvdb_resources.embedding.hashing import feature_hash_vector

SMALL = "text-embedding-3-small"
TEXTS = ["The quick brown fox jumps over the lazy dog.", "Invoices are due within 30 days.", "naïve café ☕"]


def test_default_base64_decodes_to_unit_vectors_of_the_model_dimension(openai_client):
    response = openai_client().embeddings.create(model=SMALL, input=TEXTS)  # the SDK asks for base64 by default

    assert [item.index for item in response.data] == [0, 1, 2]
    for item, text in zip(response.data, TEXTS, strict=True):
        vector = np.asarray(item.embedding)
        assert vector.shape == (1536,)
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
        assert np.array_equal(vector.astype(np.float32), feature_hash_vector(text, 1536))
    assert response.model == SMALL and response.object == "list"


def test_float_format_and_dimensions(openai_client):
    response = openai_client().embeddings.create(
        model="text-embedding-3-large", input="hello world", encoding_format="float", dimensions=256
    )

    vector = np.asarray(response.data[0].embedding, dtype=np.float32)
    assert vector.shape == (256,)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    assert np.array_equal(vector, feature_hash_vector("hello world", 256))


def test_base64_and_float_carry_the_same_vector(openai_client):
    client = openai_client()
    as_base64 = client.embeddings.create(model=SMALL, input=TEXTS[0], encoding_format="base64")
    as_float = client.embeddings.create(model=SMALL, input=TEXTS[0], encoding_format="float")

    assert isinstance(as_base64.data[0].embedding, str)  # asked explicitly, so the SDK leaves it encoded
    decoded = np.frombuffer(base64.b64decode(as_base64.data[0].embedding), dtype="<f4")
    assert np.array_equal(decoded, np.asarray(as_float.data[0].embedding, dtype=np.float32))


def test_usage_is_the_cl100k_token_count(openai_client):
    response = openai_client().embeddings.create(model=SMALL, input=TEXTS)

    expected = sum(count_tokens(text) for text in TEXTS)
    assert response.usage.prompt_tokens == response.usage.total_tokens == expected


def test_token_array_inputs_count_their_tokens_and_embed_like_their_text(openai_client):
    ids = encode(TEXTS[0])
    response = openai_client().embeddings.create(model=SMALL, input=[ids, encode(TEXTS[1])], encoding_format="float")

    assert response.usage.prompt_tokens == len(ids) + len(encode(TEXTS[1]))
    assert np.array_equal(np.asarray(response.data[0].embedding, dtype=np.float32),
                          feature_hash_vector(TEXTS[0], 1536))


def test_same_text_same_vector_across_requests(openai_client):
    client = openai_client()
    first = client.embeddings.create(model=SMALL, input="repeatable")
    second = client.embeddings.create(model=SMALL, input="repeatable")
    assert first.data[0].embedding == second.data[0].embedding


def test_rate_limit_headers_and_request_id(openai_client):
    raw = openai_client().embeddings.with_raw_response.create(model=SMALL, input="hello")

    assert raw.headers["x-ratelimit-limit-requests"] == "3000"
    assert raw.headers["x-ratelimit-limit-tokens"] == "1000000"
    assert raw.headers["x-ratelimit-remaining-requests"] == "2999"
    assert raw.headers["x-ratelimit-remaining-tokens"] == str(1_000_000 - count_tokens("hello"))
    assert raw.headers["x-ratelimit-reset-requests"].endswith("s")
    assert raw.request_id and raw.request_id == raw.headers["x-request-id"]


def test_wrong_key_is_authentication_error_without_echoing_the_key(openai_emulator):
    client = openai.OpenAI(base_url=openai_emulator.base_url, api_key="sk-wrong-secret-1234", max_retries=0)

    with pytest.raises(openai.AuthenticationError) as caught:
        client.embeddings.create(model=SMALL, input="hello")

    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    assert caught.value.type == "invalid_request_error"
    assert "1234" not in str(caught.value) and "secret" not in str(caught.value)
    assert openai_emulator.emulator.billing()["totals"]["tokens"] == 0


def test_unknown_model_is_not_found(openai_client):
    with pytest.raises(openai.NotFoundError) as caught:
        openai_client().embeddings.create(model="text-embedding-4-huge", input="hello")
    assert caught.value.code == "model_not_found"


def test_models_list_and_retrieve(openai_client):
    client = openai_client()
    ids = {model.id for model in client.models.list()}
    assert ids == {"text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002"}
    assert client.models.retrieve("text-embedding-3-large").owned_by == "system"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-nothing")


def test_a_key_is_required(openai_emulator):
    import httpx

    response = httpx.post(openai_emulator.base_url + "/embeddings", json={"model": SMALL, "input": "x"})
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    assert openai.OpenAI(base_url=openai_emulator.base_url, api_key=OPENAI_TEST_KEY).embeddings.create(
        model=SMALL, input="x").usage.total_tokens == 1
