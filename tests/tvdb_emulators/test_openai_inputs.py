"""The embeddings API's request limits, as the SDK surfaces them (BadRequestError with type, param, code)."""

from __future__ import annotations

import httpx
import openai
import pytest

from tvdb.tokens import count_tokens

SMALL = "text-embedding-3-small"


def bad_request(client, **kwargs) -> openai.BadRequestError:
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(**kwargs)
    assert caught.value.status_code == 400
    assert set(caught.value.body) == {"message", "type", "param", "code"}
    return caught.value


def test_empty_string_is_rejected(openai_client):
    error = bad_request(openai_client(), model=SMALL, input=["fine", ""])
    assert error.type == "invalid_request_error"


def test_more_than_2048_inputs_is_rejected_and_2048_is_fine(openai_client):
    client = openai_client()
    error = bad_request(client, model=SMALL, input=["a"] * 2049)
    assert error.param == "input" and "2048" in error.message
    assert len(client.embeddings.create(model=SMALL, input=["a"] * 2048).data) == 2048


def test_input_over_8192_tokens_is_rejected(openai_client):
    text = "hello " * 8193
    assert count_tokens(text) > 8192
    error = bad_request(openai_client(), model=SMALL, input=text)
    assert "maximum context length is 8192 tokens" in error.message


def test_request_over_300k_tokens_is_max_tokens_per_request(openai_client):
    chunk = "hello " * 8000  # 8,000 tokens: within the per-input limit
    inputs = [chunk] * 38  # 304,000 tokens
    error = bad_request(openai_client(), model=SMALL, input=inputs)
    assert error.code == "max_tokens_per_request" and error.type == "max_tokens_per_request"
    assert error.body["message"] == f"Requested {count_tokens(chunk) * 38} tokens, max 300000 tokens per request"


def test_dimensions_rules(openai_client):
    client = openai_client()
    assert "does not support" in bad_request(client, model="text-embedding-ada-002", input="x", dimensions=256).message
    assert bad_request(client, model=SMALL, input="x", dimensions=1537).param == "dimensions"
    assert bad_request(client, model=SMALL, input="x", dimensions=0).param == "dimensions"


def test_bad_encoding_format_and_unknown_argument(openai_client):
    client = openai_client()
    assert bad_request(client, model=SMALL, input="x", encoding_format="int8").param == "encoding_format"
    error = bad_request(client, model=SMALL, input="x", extra_body={"temperature": 1})
    assert error.body["message"] == "Unrecognized request argument supplied: temperature"


def test_invalid_token_ids_and_mixed_inputs(openai_client):
    client = openai_client()
    assert bad_request(client, model=SMALL, input=[[1, 2, 10_000_000]]).param == "input"
    bad_request(client, model=SMALL, input=["text", [1, 2]])


def test_missing_model_and_broken_json(openai_emulator):
    from tvdb_emulators.testing import OPENAI_TEST_KEY

    headers = {"Authorization": f"Bearer {OPENAI_TEST_KEY}", "Content-Type": "application/json"}
    url = openai_emulator.base_url + "/embeddings"
    missing_model = httpx.post(url, headers=headers, json={"input": "x"})
    broken = httpx.post(url, headers=headers, content=b'{"model": ')

    assert missing_model.status_code == 400 and "model" in missing_model.json()["error"]["message"]
    assert broken.status_code == 400 and "could not parse the JSON body" in broken.json()["error"]["message"]


def test_rejected_requests_are_not_billed(openai_client, openai_emulator):
    client = openai_client()
    bad_request(client, model=SMALL, input="")
    bad_request(client, model=SMALL, input=["hello " * 8000] * 38)
    client.embeddings.create(model=SMALL, input="counted")

    billing = openai_emulator.emulator.billing()
    assert billing["totals"]["tokens"] == count_tokens("counted")
    assert billing["totals"]["rows"] == 1
