"""The Supabase Storage emulator driven through ``supabase.create_client(url, key).storage``."""

from __future__ import annotations

import httpx
import pytest
from storage3.exceptions import StorageApiError
from supabase import create_client
from supabase.lib.client_options import SyncClientOptions

from tvdb_emulators.testing import SUPABASE_TEST_KEY

# supabase's create_client passes storage3 the arguments storage3 itself deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:The '(timeout|verify)' parameter is deprecated:DeprecationWarning")


@pytest.fixture
def bucket(supabase_client):
    supabase_client.storage.create_bucket("documents")
    return supabase_client.storage.from_("documents")


def test_upload_download_round_trip_keeps_bytes_and_content_type(bucket, supabase_emulator):
    data = bytes(range(256)) * 10
    uploaded = bucket.upload("inbox/2026/report.pdf", data, {"content-type": "application/pdf"})

    assert uploaded.path == "inbox/2026/report.pdf" and uploaded.full_path == "documents/inbox/2026/report.pdf"
    assert bucket.download("inbox/2026/report.pdf") == data
    info = bucket.info("inbox/2026/report.pdf")
    assert info["size"] == len(data) and info["content_type"] == "application/pdf"


def test_upload_without_upsert_refuses_an_existing_object_and_upsert_replaces_it(bucket):
    bucket.upload("a.txt", b"first")

    with pytest.raises(StorageApiError) as caught:
        bucket.upload("a.txt", b"second")
    assert (str(caught.value.status), caught.value.code) == ("409", "Duplicate")

    bucket.upload("a.txt", b"second", {"upsert": "true"})
    assert bucket.download("a.txt") == b"second"
    bucket.update("a.txt", b"third")
    assert bucket.download("a.txt") == b"third"


def test_list_shows_files_and_folders_under_a_prefix(bucket):
    for name in ("inbox/a.md", "inbox/b.md", "inbox/old/c.md", "top.txt"):
        bucket.upload(name, name.encode())

    top = bucket.list()
    inbox = bucket.list("inbox")

    assert [(e["name"], e["id"] is None) for e in top] == [("inbox", True), ("top.txt", False)]
    assert [e["name"] for e in inbox] == ["a.md", "b.md", "old"]
    assert inbox[0]["metadata"]["size"] == len(b"inbox/a.md")
    assert [e["name"] for e in bucket.list("inbox", {"limit": 1, "offset": 1})] == ["b.md"]
    assert [e["name"] for e in bucket.list("inbox", {"search": "b"})] == ["b.md"]
    assert [e["name"] for e in bucket.list("inbox", {"sortBy": {"column": "name", "order": "desc"}})] == \
           ["old", "b.md", "a.md"]


def test_remove_deletes_and_reports_what_it_removed(bucket):
    bucket.upload("x/1.txt", b"1")
    bucket.upload("x/2.txt", b"2")

    removed = bucket.remove(["x/1.txt", "x/missing.txt"])

    assert [r["name"] for r in removed] == ["x/1.txt"]
    assert [e["name"] for e in bucket.list("x")] == ["2.txt"]
    assert bucket.exists("x/2.txt") and not bucket.exists("x/1.txt")


def test_missing_object_and_bucket_errors(bucket, supabase_client):
    with pytest.raises(StorageApiError) as caught:
        bucket.download("nothing-here.pdf")
    assert (str(caught.value.status), caught.value.code, caught.value.message) == ("404", "not_found",
                                                                                    "Object not found")
    with pytest.raises(StorageApiError) as caught:
        supabase_client.storage.get_bucket("nope")
    assert str(caught.value.status) == "404"
    with pytest.raises(StorageApiError) as caught:
        supabase_client.storage.create_bucket("documents")
    assert caught.value.code == "Duplicate"


def test_bucket_lifecycle(supabase_client):
    storage = supabase_client.storage
    storage.create_bucket("images", options={"public": True, "allowed_mime_types": ["image/png"]})

    assert [b.id for b in storage.list_buckets()] == ["images"]
    assert storage.get_bucket("images").public is True
    with pytest.raises(StorageApiError) as caught:
        storage.from_("images").upload("a.txt", b"text", {"content-type": "text/plain"})
    assert str(caught.value.status) == "415"
    storage.from_("images").upload("a.png", b"\x89PNG", {"content-type": "image/png"})
    with pytest.raises(StorageApiError):
        storage.delete_bucket("images")  # not empty
    storage.empty_bucket("images")
    storage.delete_bucket("images")
    assert storage.list_buckets() == []


def test_errors_have_the_storage_body_shape(supabase_emulator):
    headers = {"apiKey": SUPABASE_TEST_KEY, "Authorization": f"Bearer {SUPABASE_TEST_KEY}"}
    response = httpx.get(supabase_emulator.url + "/storage/v1/bucket/none", headers=headers)
    assert response.status_code == 404
    assert response.json() == {"statusCode": "404", "error": "Bucket not found", "message": "Bucket not found"}


def test_auth_needs_the_key_in_both_headers(supabase_emulator):
    url = supabase_emulator.url + "/storage/v1/bucket"
    assert httpx.get(url).json()["message"] == "No API key found in request"
    half = httpx.get(url, headers={"apiKey": SUPABASE_TEST_KEY})
    assert half.status_code == 401
    with pytest.raises(StorageApiError) as caught:
        create_client(supabase_emulator.base_url, "wrong-key").storage.list_buckets()
    assert str(caught.value.status) == "401"


def test_billing_meters_bytes_stored_and_served(bucket, supabase_emulator):
    bucket.upload("a.bin", b"x" * 1000)
    bucket.download("a.bin")
    bucket.download("a.bin")

    totals = supabase_emulator.emulator.billing()["totals"]
    assert totals["by_operation"] == {"upload": 1000, "download": 2000}


def test_outage_and_server_errors_surface_as_storage_errors(bucket, supabase_emulator):
    bucket.upload("a.txt", b"kept")
    supabase_emulator.emulator.configure(next_faults=["server_error", "outage"])

    with pytest.raises(StorageApiError) as first:
        bucket.download("a.txt")
    with pytest.raises(StorageApiError) as second:
        bucket.download("a.txt")

    assert (str(first.value.status), str(second.value.status)) == ("500", "503")
    assert bucket.download("a.txt") == b"kept"


def test_malformed_download_gives_corrupt_bytes_silently(bucket, supabase_emulator):
    """storage3 returns the body as is: only a checksum catches a truncated download."""
    data = b"0123456789" * 100
    bucket.upload("a.bin", data)
    supabase_emulator.emulator.configure(next_faults=["malformed"])

    corrupt = bucket.download("a.bin")

    assert corrupt != data and data.startswith(corrupt)


def test_timeout_raises_httpx_timeout_from_the_storage_client(supabase_emulator):
    # storage_client_timeout is int()-ed by storage3 (0.3 would become 0), so a short timeout needs an http client.
    options = SyncClientOptions(httpx_client=httpx.Client(timeout=0.3))
    client = create_client(supabase_emulator.base_url, SUPABASE_TEST_KEY, options)
    supabase_emulator.emulator.configure(next_faults=["timeout"])

    with pytest.raises(httpx.TimeoutException):
        client.storage.list_buckets()
