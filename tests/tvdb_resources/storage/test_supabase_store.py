"""SupabaseObjectStore through the real supabase SDK against the local Storage emulator."""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from dagster import Definitions, EnvVar, asset, materialize

from tvdb.hashing import sha256_bytes
from tvdb_emulators.server import RunningEmulator
from tvdb_emulators.testing import *  # noqa: F401,F403  (the emulator fixtures, session servers included)
from tvdb_emulators.testing import SUPABASE_TEST_KEY
from tvdb_resources.storage import (
    CorruptObjectError,
    SupabaseAuthError,
    SupabaseObjectStore,
    SupabaseStorageError,
    document_key,
)
from tvdb_resources.storage import supabase as supabase_module

DATA = b"%PDF-1.7 content-addressed bytes " * 64
KEY = document_key(sha256_bytes(DATA))


@pytest.fixture(autouse=True)
def fresh_clients() -> Iterator[None]:
    """The store caches one client per process; the emulator server outlives tests, its state does not."""
    supabase_module.close_clients()
    yield
    supabase_module.close_clients()


@pytest.fixture
def store(supabase_emulator: RunningEmulator) -> SupabaseObjectStore:
    return SupabaseObjectStore(url=supabase_emulator.base_url, service_role_key=SUPABASE_TEST_KEY)


def routes(running: RunningEmulator) -> list[tuple[str, int]]:
    return [(entry["route"], entry["status"]) for entry in running.emulator.requests()]


def everything_said(exc: BaseException) -> str:
    """What a log line or a traceback of the error would show: message, repr, the formatted exception chain."""
    return "\n".join([str(exc), repr(exc), "".join(traceback.format_exception(exc))])


def test_round_trip_and_exists(store, debug_logs):
    assert not store.exists(KEY)
    store.put(KEY, DATA)

    assert store.exists(KEY)
    assert store.get(KEY) == DATA
    assert SUPABASE_TEST_KEY not in debug_logs.text()
    assert SUPABASE_TEST_KEY not in repr(store) and SUPABASE_TEST_KEY not in str(store)


def test_put_is_idempotent_and_uploads_without_upsert(store, supabase_emulator):
    store.put(KEY, DATA)
    store.put(KEY, DATA)  # 409 Duplicate: already there, same key same bytes

    assert store.get(KEY) == DATA
    uploads = [status for route, status in routes(supabase_emulator) if route == "object.upload"]
    assert uploads == [200, 409]
    assert supabase_emulator.emulator.billing()["totals"]["by_operation"]["upload"] == len(DATA)


def test_missing_object_is_a_key_error(store):
    missing = document_key("0" * 64)

    with pytest.raises(KeyError, match="documents/00/0+.*bucket 'documents'"):
        store.get(missing)
    assert store.exists(missing) is False


def test_bucket_is_created_private_once_per_process(supabase_emulator):
    store = SupabaseObjectStore(url=supabase_emulator.base_url, service_role_key=SUPABASE_TEST_KEY, bucket="archive")
    assert supabase_emulator.emulator.store.buckets == {}

    store.put(KEY, DATA)
    store.get(KEY)
    store.exists(KEY)
    # A new instance with the same configuration (Dagster builds one per run) shares the client and what it knows.
    again = SupabaseObjectStore(url=supabase_emulator.base_url, service_role_key=SUPABASE_TEST_KEY, bucket="archive")
    again.get(KEY)

    bucket_calls = [r for r in routes(supabase_emulator) if r[0].startswith("bucket.")]
    assert bucket_calls == [("bucket.get", 404), ("bucket.create", 200)]
    served = supabase_emulator.emulator.store
    assert served.bucket("archive").public is False and served.get("archive", KEY).data == DATA


def test_an_existing_bucket_is_used_as_it_is(supabase_emulator, store):
    supabase_emulator.emulator.store.create_bucket("documents", "documents", False, None, None)

    store.put(KEY, DATA)

    assert [r for r in routes(supabase_emulator) if r[0].startswith("bucket.")] == [("bucket.get", 200)]


def test_a_bucket_that_disappears_is_created_again(store, supabase_emulator):
    store.put(KEY, DATA)
    supabase_emulator.emulator.reset()  # every bucket and object gone, the client still thinks the bucket exists

    assert store.exists(KEY) is False
    store.put(KEY, DATA)
    assert store.get(KEY) == DATA
    assert "documents" in supabase_emulator.emulator.store.buckets


@pytest.mark.parametrize("mode", ["truncated_json", "not_json", "empty"])
def test_a_corrupt_download_is_caught_by_the_sha256_check(store, supabase_emulator, mode):
    store.put(KEY, DATA)
    supabase_emulator.emulator.configure(malformed_rate=1.0, malformed_mode=mode, fault_routes=["object.download"])

    with pytest.raises(CorruptObjectError) as caught:
        store.get(KEY)

    assert caught.value.retryable and caught.value.key == KEY and caught.value.bucket == "documents"
    assert KEY in str(caught.value) and "'documents'" in str(caught.value)
    supabase_emulator.emulator.configure(malformed_rate=0.0)
    assert store.get(KEY) == DATA


def test_a_wrong_key_is_refused_without_naming_it(supabase_emulator, debug_logs):
    wrong = "wrong-service-role-key-5f1e0c9a"
    store = SupabaseObjectStore(url=supabase_emulator.base_url, service_role_key=wrong)

    errors = []
    for call in (lambda: store.put(KEY, DATA), lambda: store.get(KEY), lambda: store.exists(KEY)):
        with pytest.raises(SupabaseAuthError) as caught:
            call()
        errors.append(caught.value)

    for error in errors:
        assert error.status == 401 and not error.retryable
        assert "'documents'" in str(error) and KEY in str(error) and "Invalid API key" in str(error)
        assert wrong not in everything_said(error)
    assert wrong not in debug_logs.text()
    assert wrong not in repr(store)


@pytest.fixture
def echoing_server() -> Iterator[str]:
    """A Storage lookalike that refuses every call and echoes the key it was sent in its error message."""

    class Handler(BaseHTTPRequestHandler):
        def _refuse(self) -> None:
            body = json.dumps({"statusCode": "403", "error": "Unauthorized",
                               "message": f"key {self.headers.get('apikey')} is not allowed"}).encode()
            self.send_response(403)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = _refuse

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(5)


def test_a_key_echoed_by_the_server_is_masked(echoing_server, debug_logs):
    secret = "eyJhbGciOiJIUzI1NiJ9.service-role-secret"
    store = SupabaseObjectStore(url=echoing_server, service_role_key=secret)

    with pytest.raises(SupabaseAuthError) as caught:
        store.put(KEY, DATA)

    assert "key *** is not allowed" in str(caught.value)
    assert secret not in everything_said(caught.value) and secret not in debug_logs.text()


@pytest.mark.parametrize("key", ["../etc/passwd", "documents/../../x", "documents/ab/" + "g" * 64, "/abs/path", "",
                                 "documents/ab/" + "a" * 63, KEY + "/more"])
def test_keys_that_are_not_content_addresses_are_refused_before_any_request(store, supabase_emulator, key):
    for call in (lambda: store.put(key, b"x"), lambda: store.get(key), lambda: store.exists(key)):
        with pytest.raises(ValueError, match="content-addressed"):
            call()
    assert supabase_emulator.emulator.requests() == []


def test_bytes_that_do_not_match_their_key_are_refused_before_any_request(store, supabase_emulator):
    with pytest.raises(ValueError, match="not the content address"):
        store.put(KEY, DATA + b"tampered")
    assert supabase_emulator.emulator.requests() == []


def test_server_errors_and_outages_are_retryable_storage_errors(store, supabase_emulator):
    store.put(KEY, DATA)
    supabase_emulator.emulator.configure(next_faults=["server_error", "rate_limit"])

    with pytest.raises(SupabaseStorageError) as first:
        store.get(KEY)
    with pytest.raises(SupabaseStorageError) as second:
        store.exists(KEY)
    supabase_emulator.emulator.configure(outage_for_s=60)
    with pytest.raises(SupabaseStorageError) as third:
        store.put(KEY, DATA)

    assert [(e.value.status, e.value.retryable) for e in (first, second, third)] == \
           [(500, True), (429, True), (503, True)]
    assert "could not download the object (bucket 'documents', key " in str(first.value)
    assert not isinstance(first.value, (KeyError, CorruptObjectError))


def test_a_sub_second_timeout_is_kept(supabase_emulator):
    # storage3's own timeout option would turn 0.5 into int(0.5) == 0
    store = SupabaseObjectStore(url=supabase_emulator.base_url, service_role_key=SUPABASE_TEST_KEY,
                                timeout_seconds=0.5)
    store.put(KEY, DATA)
    assert store.get(KEY) == DATA
    supabase_emulator.emulator.configure(next_faults=["timeout"], fault_routes=["object.download"])

    started = time.monotonic()
    with pytest.raises(SupabaseStorageError, match=r"no answer within 0\.5s") as caught:
        store.get(KEY)

    assert 0.4 < time.monotonic() - started < 5
    assert caught.value.retryable


def test_an_unusable_configuration_is_a_clear_error(debug_logs):
    secret = "not-a-url-secret"
    with pytest.raises(SupabaseStorageError, match="misconfigured.*Invalid URL"):
        SupabaseObjectStore(url="ftp://nowhere", service_role_key=secret).exists(KEY)
    with pytest.raises(SupabaseStorageError, match="timeout_seconds must be positive"):
        SupabaseObjectStore(url="http://127.0.0.1:9", service_role_key=secret, timeout_seconds=0).exists(KEY)
    assert secret not in debug_logs.text()


def test_an_unreachable_server_is_a_retryable_storage_error():
    store = SupabaseObjectStore(url="http://127.0.0.1:9", service_role_key="k", timeout_seconds=2)
    with pytest.raises(SupabaseStorageError, match="could not check the bucket") as caught:
        store.exists(KEY)
    assert caught.value.retryable


def test_as_a_dagster_resource_with_the_key_from_the_environment(supabase_emulator, monkeypatch, debug_logs):
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", SUPABASE_TEST_KEY)
    resource = SupabaseObjectStore(url=supabase_emulator.base_url,
                                   service_role_key=EnvVar("SUPABASE_SERVICE_ROLE_KEY"))

    @asset
    def stored(store: SupabaseObjectStore) -> str:
        store.put(KEY, DATA)
        assert store.get(KEY) == DATA
        assert SUPABASE_TEST_KEY not in repr(store)
        return KEY

    Definitions(assets=[stored], resources={"store": resource})  # the definitions accept it
    result = materialize([stored], resources={"store": resource})

    assert result.success and result.output_for_node("stored") == KEY
    assert SUPABASE_TEST_KEY not in debug_logs.text()
