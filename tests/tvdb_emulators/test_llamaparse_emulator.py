"""The LlamaParse emulator driven through the official ``llama_cloud`` 2.x SDK."""

from __future__ import annotations

import llama_cloud
import pytest
from llama_cloud import LlamaCloud

from tvdb_emulators.llamaparse_jobs import CREDITS_PER_PAGE
from tvdb_resources.parsing.formats import extract

DOC = ("# Cost control\n\n" + "Every call to a paid service is reserved before it is made. " * 150).encode()
FAST_POLL = {"polling_interval": 0.02, "backoff": "constant", "timeout": 10}


def parse(client: LlamaCloud, data: bytes = DOC, name: str = "guide.md", tier: str = "fast",
          expand=("markdown", "text", "usage", "job_metadata"), **options):
    return client.parsing.parse(tier=tier, version="latest", upload_file=(name, data), expand=list(expand),
                                **FAST_POLL, **options)


def totals(running) -> dict:
    return running.emulator.billing()["totals"]


@pytest.mark.parametrize("tier", list(CREDITS_PER_PAGE))
def test_parse_flow_returns_the_local_parsers_text_and_bills_pages_times_tier(llama_client, llamaparse_emulator,
                                                                              tier):
    expected = extract(DOC, "guide.md")
    assert expected.pages > 1  # the document spans pages, so splitting is exercised

    result = parse(llama_client(), tier=tier)

    assert result.job.status == "COMPLETED" and result.job.tier == tier
    assert [p.page_number for p in result.markdown.pages] == list(range(1, expected.pages + 1))
    assert all(p.success for p in result.markdown.pages)
    assert "".join(p.markdown for p in result.markdown.pages) == expected.text
    assert "".join(p.text for p in result.text.pages) == expected.text
    credits = expected.pages * {"fast": 1, "cost_effective": 3, "agentic": 10, "agentic_plus": 45}[tier]
    assert result.job.usage.credits == credits
    assert result.job_metadata["job_pages"] == expected.pages and result.job_metadata["job_is_cache_hit"] is False
    assert totals(llamaparse_emulator)["credits"] == credits
    assert totals(llamaparse_emulator)["by_tier"] == {tier: credits}


def test_multi_page_pdf_is_billed_per_pdf_page(llama_client, llamaparse_emulator, make_pdf):
    pdf = make_pdf(["Budgets are set per day.", "Holds expire after an hour.", "Spend is settled at cost."])

    result = parse(llama_client(), data=pdf, name="handbook.pdf", tier="cost_effective")

    assert len(result.markdown.pages) == 3
    assert result.job.usage.credits == 9
    assert "Holds expire after an hour." in "".join(p.markdown for p in result.markdown.pages)


def test_credits_are_only_returned_with_expand_usage(llama_client):
    client = llama_client()
    job = client.parsing.create(tier="fast", version="latest", upload_file=("guide.md", DOC))
    client.parsing.wait_for_completion(job.id, **FAST_POLL)

    assert client.parsing.get(job.id, expand=["markdown"]).job.usage is None
    assert client.parsing.get(job.id, expand=["usage"]).job.usage.credits == extract(DOC, "guide.md").pages


def test_job_goes_pending_running_completed_on_the_emulator_clock(llama_client, llamaparse_emulator):
    emulator = llamaparse_emulator.emulator
    emulator.configure(job_pending_ms=60_000, job_running_ms=60_000)  # nothing moves unless the clock does
    client = llama_client()

    job = client.parsing.create(tier="agentic", version="latest", upload_file=("guide.md", DOC))
    seen = [job.status, client.parsing.get(job.id, expand=["usage"]).job.status]
    emulator.clock.advance(60)
    running = client.parsing.get(job.id, expand=["usage", "markdown"])
    seen.append(running.job.status)
    emulator.clock.advance(60)
    done = client.parsing.get(job.id, expand=["usage", "markdown"])
    seen.append(done.job.status)

    assert seen == ["PENDING", "PENDING", "RUNNING", "COMPLETED"]
    assert running.job.usage.credits is None and running.markdown is None  # null until billed, no content yet
    credits = extract(DOC, "guide.md").pages * 10
    assert done.job.usage.credits == credits and done.markdown is not None
    assert done.job.updated_at > done.job.created_at


def test_credits_are_held_while_the_job_runs_and_billed_when_it_completes(llama_client, llamaparse_emulator):
    emulator = llamaparse_emulator.emulator
    emulator.configure(job_pending_ms=60_000)
    llama_client().parsing.create(tier="fast", version="latest", upload_file=("guide.md", DOC))
    pages = extract(DOC, "guide.md").pages

    assert (totals(llamaparse_emulator)["credits"], totals(llamaparse_emulator)["pending"]) == (0, pages)
    emulator.clock.advance(61)
    assert (totals(llamaparse_emulator)["credits"], totals(llamaparse_emulator)["pending"]) == (pages, 0)


def test_unparseable_bytes_fail_the_job_with_the_parsers_reason_and_bill_nothing(llama_client, llamaparse_emulator):
    with pytest.raises(llama_cloud.PollingError, match="corrupt PDF: the file does not start with a PDF header"):
        parse(llama_client(), data=b"this is not a pdf", name="scan.pdf", tier="agentic_plus")

    (row,) = llamaparse_emulator.emulator.billing()["rows"]
    assert (row["status"], row["credits"]) == ("FAILED", 0)
    job = llama_client().parsing.get(row["job_id"], expand=["usage"]).job
    assert job.status == "FAILED" and job.error_message.startswith("corrupt PDF")
    assert job.usage.credits == 0


def test_same_bytes_and_tier_within_48h_is_a_free_cache_hit(llama_client, llamaparse_emulator):
    client = llama_client()
    pages = extract(DOC, "guide.md").pages
    first = parse(client, tier="agentic")
    again = parse(client, tier="agentic")
    other_tier = parse(client, tier="fast")
    uncached = parse(client, tier="agentic", disable_cache=True)
    llamaparse_emulator.emulator.clock.advance(48 * 3600)
    expired = parse(client, tier="agentic")

    assert first.job.usage.credits == 10 * pages
    assert again.job.usage.credits == 0 and again.job_metadata["job_is_cache_hit"] is True
    assert again.markdown == first.markdown
    assert other_tier.job.usage.credits == pages
    assert uncached.job.usage.credits == 10 * pages
    assert expired.job.usage.credits == 10 * pages
    assert totals(llamaparse_emulator)["credits"] == 31 * pages
    assert totals(llamaparse_emulator)["cache_hits"] == 1


def test_page_ranges_limit_the_pages_parsed_and_billed(llama_client, make_pdf):
    pdf = make_pdf([f"Page number {n}." for n in range(1, 6)])
    client = llama_client()

    first_two = parse(client, data=pdf, name="five.pdf", page_ranges={"max_pages": 2})
    picked = parse(client, data=pdf, name="five.pdf", page_ranges={"target_pages": "1,4-5"})

    assert [p.page_number for p in first_two.markdown.pages] == [1, 2] and first_two.job.usage.credits == 2
    assert [p.page_number for p in picked.markdown.pages] == [1, 4, 5] and picked.job.usage.credits == 3


def test_parse_by_file_id(llama_client, llamaparse_emulator):
    client = llama_client()
    uploaded = client.files.create(file=("notes.txt", b"Operator notes: check the ledger daily."), purpose="parse")
    job = client.parsing.create(tier="cost_effective", version="latest", file_id=uploaded.id)
    client.parsing.wait_for_completion(job.id, **FAST_POLL)
    result = client.parsing.get(job.id, expand=["text", "usage"])

    assert uploaded.id.startswith("dfl-") and uploaded.name == "notes.txt"
    assert result.text.pages[0].text == "Operator notes: check the ledger daily."
    assert result.job.usage.credits == 3
    with pytest.raises(llama_cloud.NotFoundError):
        client.parsing.create(tier="fast", version="latest", file_id="dfl-missing")


def test_out_of_credits_is_402_and_a_credit_cap_refuses_jobs_past_it(llama_client, llamaparse_emulator):
    emulator = llamaparse_emulator.emulator
    client = llama_client()
    pages = extract(DOC, "guide.md").pages
    emulator.configure(insufficient_quota=True)
    with pytest.raises(llama_cloud.APIStatusError) as caught:
        parse(client)
    assert caught.value.status_code == 402

    emulator.configure(insufficient_quota=False, quota=pages * 10)
    parse(client, tier="agentic")
    with pytest.raises(llama_cloud.APIStatusError) as caught:
        parse(client, data=DOC + b" changed", tier="agentic")
    assert caught.value.status_code == 402 and "Insufficient credits" in caught.value.body["detail"]
    assert parse(client, tier="agentic").job.usage.credits == 0  # a cache hit costs nothing, so it still runs
    assert totals(llamaparse_emulator)["credits"] == pages * 10


def test_upload_rate_limit_is_429_with_retry_after_until_the_window_refills(llama_client, llamaparse_emulator):
    llamaparse_emulator.emulator.configure(rate_limit_requests=1)  # one job per 10 s
    client = llama_client()
    client.parsing.create(tier="fast", version="latest", upload_file=("a.md", b"first"))

    with pytest.raises(llama_cloud.RateLimitError) as caught:
        client.parsing.create(tier="fast", version="latest", upload_file=("b.md", b"second"))
    assert 9_000 <= int(caught.value.response.headers["retry-after-ms"]) <= 10_000
    assert "1 requests per 10 seconds" in caught.value.body["detail"]

    llamaparse_emulator.emulator.clock.advance(10)
    client.parsing.create(tier="fast", version="latest", upload_file=("b.md", b"second"))
    assert len(list(client.parsing.list())) == 2  # the refused upload made no job


def test_sdk_retries_a_429_upload_after_retry_after(llama_client, llamaparse_emulator):
    llamaparse_emulator.emulator.configure(next_faults=["rate_limit"], injected_retry_after_ms=700)

    llama_client(max_retries=1).parsing.create(tier="fast", version="latest", upload_file=("a.md", b"doc"))

    first, second = llamaparse_emulator.emulator.requests()
    assert (first["status"], second["status"], second["retry_count"]) == (429, 200, "1")
    assert second["at"] - first["at"] >= 0.69  # llama_cloud's own first backoff is at most 0.5 s


def test_upload_that_times_out_is_still_billed_and_the_sdk_retry_is_a_cache_hit(llama_client, llamaparse_emulator):
    llamaparse_emulator.emulator.configure(next_faults=["timeout"])
    client = llama_client(timeout=0.5, max_retries=1)

    retried = client.parsing.create(tier="agentic", version="latest", upload_file=("guide.md", DOC))
    client.parsing.wait_for_completion(retried.id, **FAST_POLL)

    rows = llamaparse_emulator.emulator.billing()["rows"]
    pages = extract(DOC, "guide.md").pages
    assert [(r["credits"], r["cache_hit"]) for r in rows] == [(10 * pages, False), (0, True)]
    assert rows[0]["delivery"] in ("hung", "timeout") and rows[1]["job_id"] == retried.id


def test_cancel_and_delete(llama_client, llamaparse_emulator):
    llamaparse_emulator.emulator.configure(job_pending_ms=60_000)
    client = llama_client()
    job = client.parsing.create(tier="agentic_plus", version="latest", upload_file=("guide.md", DOC))

    assert client.parsing.cancel(job.id).status == "CANCELLED"
    with pytest.raises(llama_cloud.PollingError, match="CANCELLED"):
        client.parsing.wait_for_completion(job.id, **FAST_POLL)
    assert totals(llamaparse_emulator)["credits"] == 0 and totals(llamaparse_emulator)["pending"] == 0
    assert client.parsing.delete(job.id).id == job.id
    with pytest.raises(llama_cloud.NotFoundError):
        client.parsing.get(job.id)


def test_list_pages_through_jobs(llama_client):
    client = llama_client()
    ids = [client.parsing.create(tier="fast", version="latest", upload_file=(f"{n}.md", f"doc {n}".encode())).id
           for n in range(3)]
    assert [job.id for job in client.parsing.list(page_size=2)] == ids  # the SDK follows next_page_token


def test_versions_and_validation(llama_client):
    client = llama_client()
    assert client.parsing.list_versions().latest.fast == "2026-06-15"
    with pytest.raises(llama_cloud.UnprocessableEntityError):
        client.parsing.create(tier="premium", version="latest", upload_file=("a.md", b"x"))
    with pytest.raises(llama_cloud.UnprocessableEntityError):
        client.parsing.create(tier="fast", version="v9", upload_file=("a.md", b"x"))


def test_wrong_key_is_authentication_error(llamaparse_emulator):
    client = LlamaCloud(base_url=llamaparse_emulator.base_url, api_key="llx-wrong", max_retries=0)
    with pytest.raises(llama_cloud.AuthenticationError):
        client.parsing.list_versions()


def test_job_ids_repeat_under_the_same_seed(llama_client, llamaparse_emulator):
    def make() -> str:
        return llama_client().parsing.create(tier="fast", version="latest", upload_file=("a.md", b"x")).id

    first = [make(), make()]
    llamaparse_emulator.emulator.reset()
    assert [make(), make()] == first
