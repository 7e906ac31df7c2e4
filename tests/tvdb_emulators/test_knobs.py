"""Knobs over the admin HTTP API: validated, masked, applied at once, restored by reset."""

from __future__ import annotations

import openai
import pytest
from pydantic import ValidationError

from tvdb_emulators.llamaparse_emulator import LlamaParseKnobs
from tvdb_emulators.openai_emulator import OpenAIKnobs


def test_config_changes_apply_at_run_time_over_http(admin, openai_emulator, openai_client):
    response = admin(openai_emulator, "POST", "/_emulator/config", json={"error_rate": 1.0})
    assert response.status_code == 200 and response.json()["error_rate"] == 1.0

    with pytest.raises(openai.InternalServerError):
        openai_client().embeddings.create(model="text-embedding-3-small", input="x")
    admin(openai_emulator, "POST", "/_emulator/config", json={"error_rate": 0})
    assert openai_client().embeddings.create(model="text-embedding-3-small", input="x").usage.total_tokens == 1


@pytest.mark.parametrize("patch", [{"eror_rate": 0.5}, {"error_rate": 2}, {"error_rate": 0.6, "timeout_rate": 0.6},
                                   {"timeout_phase": "sometimes"}, {"outage_windows": [[5, 1]]}, [1, 2],
                                   {"fault_routes": ["embedings"]}])
def test_invalid_knobs_are_a_400_and_change_nothing(admin, openai_emulator, patch):
    before = admin(openai_emulator, "GET", "/_emulator/config").json()
    response = admin(openai_emulator, "POST", "/_emulator/config", json=patch)
    assert response.status_code == 400 and "error" in response.json()
    assert admin(openai_emulator, "GET", "/_emulator/config").json() == before


def test_broken_admin_bodies_are_a_400(admin, openai_emulator):
    for path in ("/_emulator/config", "/_emulator/reset", "/_emulator/clock"):
        response = admin(openai_emulator, "POST", path, content=b"{not json")
        assert response.status_code == 400, path
    assert admin(openai_emulator, "POST", "/_emulator/clock", json={"advance_s": "soon"}).status_code == 400


def test_api_key_is_masked_in_the_config_view(admin, openai_emulator):
    config = admin(openai_emulator, "GET", "/_emulator/config").json()
    assert config["api_key"] == "***"


def test_scripted_faults_are_listed_until_consumed(admin, openai_emulator, openai_client):
    admin(openai_emulator, "POST", "/_emulator/config", json={"next_faults": ["server_error", "ok"]})
    assert admin(openai_emulator, "GET", "/_emulator/config").json()["next_faults"] == ["server_error", "ok"]
    with pytest.raises(openai.InternalServerError):
        openai_client().embeddings.create(model="text-embedding-3-small", input="x")
    assert admin(openai_emulator, "GET", "/_emulator/config").json()["next_faults"] == ["ok"]


def test_reset_restores_start_up_knobs_and_forgets_billing(admin, openai_emulator, openai_client):
    openai_client().embeddings.create(model="text-embedding-3-small", input="x")
    admin(openai_emulator, "POST", "/_emulator/config", json={"latency_ms": 50, "seed": 9})

    kept = admin(openai_emulator, "POST", "/_emulator/reset", json={"keep_knobs": True}).json()["config"]
    assert kept["latency_ms"] == 50
    config = admin(openai_emulator, "POST", "/_emulator/reset").json()["config"]

    assert config["latency_ms"] == 0 and config["seed"] == 0
    billing = admin(openai_emulator, "GET", "/_emulator/billing").json()
    assert billing == {"unit": "tokens", "totals": {"tokens": 0, "rows": 0, "pending": 0, "by_model": {}},
                       "rows": []}
    assert admin(openai_emulator, "GET", "/_emulator/requests").json() == {"requests": []}


def test_outage_window_on_the_emulator_clock(admin, openai_emulator, openai_client):
    now = admin(openai_emulator, "POST", "/_emulator/clock", json={"advance_s": 0}).json()["now_s"]
    admin(openai_emulator, "POST", "/_emulator/config", json={"outage_windows": [[now + 100, now + 200]]})
    client = openai_client()
    client.embeddings.create(model="text-embedding-3-small", input="x")

    admin(openai_emulator, "POST", "/_emulator/clock", json={"advance_s": 150})
    with pytest.raises(openai.InternalServerError) as caught:
        client.embeddings.create(model="text-embedding-3-small", input="x")
    assert caught.value.status_code == 503
    admin(openai_emulator, "POST", "/_emulator/clock", json={"advance_s": 60})
    client.embeddings.create(model="text-embedding-3-small", input="x")
    assert admin(openai_emulator, "POST", "/_emulator/clock", json={"advance_s": -1}).status_code == 400


def test_billing_requests_and_routes_are_readable_over_http(admin, openai_emulator, openai_client):
    openai_client().embeddings.create(model="text-embedding-3-small", input="hello world")

    billing = admin(openai_emulator, "GET", "/_emulator/billing").json()
    (entry,) = admin(openai_emulator, "GET", "/_emulator/requests").json()["requests"]
    routes = admin(openai_emulator, "GET", "/_emulator/routes").json()

    assert billing["totals"]["by_model"] == {"text-embedding-3-small": 2}
    assert billing["rows"][0]["request_id"] == entry["request_id"]
    assert (entry["route"], entry["status"], entry["fault"]) == ("embeddings", 200, "ok")
    assert routes == {"emulator": "openai", "routes": ["embeddings", "models.list", "models.retrieve"]}


def test_knobs_are_self_describing(admin, llamaparse_emulator):
    knobs = admin(llamaparse_emulator, "GET", "/_emulator/knobs").json()
    assert knobs["cache_ttl_s"]["default"] == 172800 and "free" in knobs["cache_ttl_s"]["description"]
    assert knobs["timeout_phase"]["default"] == "after_processing"
    assert {"quota", "insufficient_quota", "latency_ms", "outage_windows", "next_faults"} <= set(knobs)


def test_start_up_knobs_are_validated_too():
    with pytest.raises(ValidationError):
        OpenAIKnobs(latency_ms=-1)
    assert LlamaParseKnobs().rate_limit_requests == 50 and LlamaParseKnobs().rate_limit_window_s == 10
    assert OpenAIKnobs().rate_limit_requests == 3000 and OpenAIKnobs().rate_limit_tokens == 1_000_000
