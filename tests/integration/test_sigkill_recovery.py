"""A ``tvdb ingest`` killed with SIGKILL in the middle of a real-mode batch, then the batch run again to the end.

Real mode, both paid services through their SDKs against the emulators, on the machine's PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from dagster import instance_for_test
from sqlalchemy import func, select

from tvdb.db.engine import session_factory
from tvdb.db.models import Chunk, CostEntry, Document, Embedding, UploadJob
from tvdb.hashing import sha256_bytes, sha256_text
from tvdb.pricing import price_table
from tvdb_emulators.testing import LLAMAPARSE_TEST_KEY, OPENAI_TEST_KEY

pytestmark = pytest.mark.postgres

TVDB = Path(sys.executable).with_name("tvdb")
REPO = Path(__file__).resolve().parents[2]
TIER = "cost_effective"
MODEL = "text-embedding-3-small"
CLEARED = ("SERVICE_MODE", "SERVICE_MODE_OPENAI", "SERVICE_MODE_LLAMAPARSE", "TVDB_OBJECT_STORE",
           "TVDB_OBJECT_STORE_ROOT", "TVDB_MAX_UPLOAD_BYTES", "TVDB_CHUNK_TOKENS", "TVDB_CHUNK_OVERLAP_TOKENS",
           "TVDB_INBOX", "DAILY_COST_LIMIT_OPENAI", "DAILY_COST_LIMIT_LLAMAPARSE",
           "UPLOAD_PIPELINE_LLAMAPARSE_TIER", "UPLOAD_PIPELINE_OPENAI_EMBEDDING_MODEL",
           "UPLOAD_PIPELINE_OPENAI_EMBEDDING_DIMENSIONS")
TOPICS = ["budgets", "ledgers", "reservations", "emulators", "chunking", "embeddings", "parsing", "retries",
          "circuit breakers", "rate limits", "object stores", "batches"]


def _paragraph(kind: str, n: int, sentences: int) -> str:
    topic = TOPICS[n % len(TOPICS)]
    return " ".join(f"{kind} document {n} sentence {s} explains {topic} and why operator {n * 7 + s} cares."
                    for s in range(sentences))


def write_corpus(folder: Path, make_pdf) -> dict[str, bytes]:
    """34 uploads of 32 distinct documents: Markdown, text, HTML, CSV and PDF, some long enough for several chunks
    and several billable pages, plus two byte-identical copies under other names."""
    folder.mkdir()
    files: dict[str, bytes] = {}
    for n in range(7):
        long = 60 if n % 3 == 0 else 4  # ~5,000 characters: 2 billable pages, 2+ chunks
        files[f"notes-{n}.md"] = f"# Notes {n}\n\n{_paragraph('markdown', n, long)}\n".encode()
        files[f"memo-{n}.txt"] = _paragraph("text", n, long).encode()
        files[f"page-{n}.html"] = (f"<html><head><title>Page {n}</title></head><body><h1>Page {n}</h1>"
                                   f"<p>{_paragraph('html', n, long)}</p></body></html>").encode()
        rows = "\n".join(f"{n},{r},{TOPICS[(n + r) % len(TOPICS)]},{r * 1.5}" for r in range(8 + long))
        files[f"table-{n}.csv"] = f"doc,row,topic,value\n{rows}\n".encode()
    for n in range(4):
        files[f"report-{n}.pdf"] = make_pdf([_paragraph("pdf", n, 6) for _ in range(1 + n % 2)])
    files["copy-of-notes-1.md"] = files["notes-1.md"]
    files["copy-of-report-2.pdf"] = files["report-2.pdf"]
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return files


def real_mode_env(home: Path, database_url: str, openai_emulator, llamaparse_emulator) -> dict[str, str]:
    return {
        "TVDB_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "TVDB_DATABASE_URL": database_url,
        "SERVICE_MODE": "real",
        "UPLOAD_PIPELINE_OPENAI_API_KEY": OPENAI_TEST_KEY, "UPLOAD_PIPELINE_OPENAI_BASE_URL": openai_emulator.base_url,
        "UPLOAD_PIPELINE_LLAMAPARSE_API_KEY": LLAMAPARSE_TEST_KEY,
        "UPLOAD_PIPELINE_LLAMAPARSE_BASE_URL": llamaparse_emulator.base_url,
        "RATE_LIMIT_LLAMAPARSE_RPM": "600",  # two runs of the batch must not wait for the 60/min bucket
    }


def _work_base(key: str) -> str:
    return key.rsplit(":", 1)[0]


def test_a_batch_killed_mid_parse_finishes_on_a_rerun_with_nothing_lost_or_double_counted(
    postgres_url, openai_emulator, llamaparse_emulator, make_pdf, tmp_path, monkeypatch
):
    """SIGKILL ``tvdb ingest`` once some but not all uploads are ``parsed`` (LlamaParse jobs in flight), then run
    the batch again in this process (``run_batch`` on a test instance, ``build_definitions()`` with the same env).

    Asserted after the re-run:

    - every upload is ``done``; the uploads are exactly the files, the documents exactly their distinct contents;
    - each document has one text (from LlamaParse), its chunks once (indexes 0..n-1, one chunking), and every chunk
      text has an OpenAI vector;
    - no ``cost_tracking`` row is ``reserved``; idempotency keys are unique, one row per attempt, attempts numbered
      1..n per piece of work;
    - the holds in flight at the kill -- the rows ``reserved`` right after it -- are exactly the rows now ``expired``:
      the re-run's attempt at the same work counted each at its reserved amount (the worst case) before holding
      its own;
    - per document and per service, ``settled cost <= billed <= settled cost + expired holds`` where ``billed`` is
      what the emulator charged, at list price. Why not equality: a call killed in flight may or may not have
      reached the provider (a parse job whose create request got through runs and bills on its own; one killed
      before that bills nothing), and the ledger cannot tell, so it counts the hold in full. Hence the ledger total
      (settled + expired) is >= the bill and exceeds it by at most the holds in flight at the kill;
    - every ``settled`` row is backed by a provider job or request and every provider job or request has a row
      (``settled <= provider rows <= settled + expired``): nothing settled twice for work the provider billed once.
    """
    docs = tmp_path / "docs"
    files = write_corpus(docs, make_pdf)
    shas = {sha256_bytes(data) for data in files.values()}
    env = real_mode_env(tmp_path / "home", postgres_url, openai_emulator, llamaparse_emulator)
    openai_emulator.emulator.configure(latency_ms=30)
    llamaparse_emulator.emulator.configure(latency_ms=30, job_running_ms=300)
    sessions = session_factory(postgres_url)

    child_env = {k: v for k, v in os.environ.items() if k not in CLEARED} | env
    proc = subprocess.Popen([str(TVDB), "ingest", str(docs), "--json"], cwd=REPO, env=child_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"ingest ended before it could be killed: {proc.communicate()[1][-3000:]!r}"
            assert time.monotonic() < deadline, "the batch never got part-way through parsing"
            with sessions() as session:
                statuses = Counter(dict(session.execute(
                    select(UploadJob.status, func.count()).group_by(UploadJob.status)).all()))
                holds = session.scalar(select(func.count()).select_from(CostEntry)
                                       .where(CostEntry.status == "reserved"))
            if statuses["parsed"] >= 5 and statuses["stored"] > 0 and holds >= 2:  # several jobs in flight
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.02)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    with sessions() as session:
        [batch_id] = session.scalars(select(UploadJob.batch_id).distinct()).all()
        at_kill = Counter(session.scalars(select(UploadJob.status)).all())
        in_flight = {e.id: e for e in session.scalars(select(CostEntry).where(CostEntry.status == "reserved"))}
    assert 0 < at_kill["parsed"] and at_kill["stored"] > 0 and sum(at_kill.values()) == len(files)
    assert in_flight, "no paid call was in flight at the kill"

    # The re-run: the same configuration, in this process, on a fresh Dagster instance.
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    from tvdb_assets.definitions import build_definitions
    from tvdb_assets.runner import run_batch

    with instance_for_test() as instance:
        _, success = run_batch(build_definitions(), instance, batch_id)
    assert success
    openai_emulator.emulator.wait_idle()
    llamaparse_emulator.emulator.wait_idle()

    with sessions() as session:
        uploads = session.scalars(select(UploadJob)).all()
        documents = session.scalars(select(Document)).all()
        chunks = session.scalars(select(Chunk)).all()
        vectors = session.execute(select(Embedding.text_sha256, Embedding.model, Embedding.dimensions,
                                         Embedding.embedder)).all()
        rows = session.scalars(select(CostEntry).order_by(CostEntry.id)).all()

    # Nothing lost: every upload done, every document there with one text and its chunks once, every chunk embedded.
    assert sorted(u.original_filename for u in uploads) == sorted(files)
    assert {u.status for u in uploads} == {"done"} and all(u.error is None for u in uploads)
    assert {u.content_sha256 for u in uploads} == shas == {d.sha256 for d in documents}
    assert all(d.text and d.parser == f"llamaparse/{TIER}" and d.pages >= 1 for d in documents)
    assert len({c.chunking for c in chunks}) == 1
    by_document = defaultdict(list)
    for chunk in chunks:
        by_document[chunk.document_sha256].append(chunk.chunk_index)
    assert set(by_document) == shas
    assert all(sorted(indexes) == list(range(len(indexes))) for indexes in by_document.values())
    assert sum(1 for d in documents if len(by_document[d.sha256]) > 1) >= 3  # the long ones really were split
    openai_vectors = {sha for sha, model, dims, embedder in vectors
                      if (model, dims, embedder) == (MODEL, 1536, "openai")}
    assert {c.text_sha256 for c in chunks} <= openai_vectors

    # The ledger: nothing left reserved, one row per attempt, the kill's holds expired at their reserved amount.
    assert not [r for r in rows if r.status == "reserved"]
    assert {r.mode for r in rows} == {"real"} and {r.service for r in rows} == {"llamaparse", "openai"}
    keys = [r.idempotency_key for r in rows]
    assert len(keys) == len(set(keys))
    attempts = defaultdict(list)
    for row in rows:
        attempts[_work_base(row.idempotency_key)].append(int(row.idempotency_key.rsplit(":", 1)[1]))
    assert all(sorted(n) == list(range(1, len(n) + 1)) for n in attempts.values())
    expired = {r.id: r for r in rows if r.status == "expired"}
    assert set(expired) == set(in_flight)
    assert all(r.actual_cost == in_flight[r.id].estimated_cost for r in expired.values())

    # Against the providers' own bills.
    tier = price_table().parse_tier(TIER)
    usd_per_token = price_table().embedding_model(MODEL).usd_per_token
    parse_bill = llamaparse_emulator.emulator.billing()
    embed_bill = openai_emulator.emulator.billing()
    assert parse_bill["totals"]["pending"] == 0
    billed = {"llamaparse": Decimal(int(parse_bill["totals"]["credits"])) * tier.usd_per_credit,
              "openai": Decimal(int(embed_bill["totals"]["tokens"])) * usd_per_token}
    provider_rows = {"llamaparse": len(parse_bill["rows"]), "openai": len(embed_bill["rows"])}
    for service in ("llamaparse", "openai"):
        mine = [r for r in rows if r.service == service]
        settled = [r for r in mine if r.status == "settled"]
        held = [r for r in mine if r.status == "expired"]
        settled_cost = sum((r.actual_cost for r in settled), Decimal(0))
        held_cost = sum((r.actual_cost for r in held), Decimal(0))
        assert settled_cost <= billed[service] <= settled_cost + held_cost, service
        assert len(settled) <= provider_rows[service] <= len(settled) + len(held), service

    # Per document: each parse attempt is one row, and the rows account for exactly what LlamaParse billed for it.
    jobs = defaultdict(list)
    for job in parse_bill["rows"]:
        jobs[job["file_sha256"]].append(job)
    parse_rows = defaultdict(list)
    for row in rows:
        if row.service == "llamaparse":
            parse_rows[_work_base(row.idempotency_key)].append(row)
    assert len(parse_rows) == len(shas)
    for sha in shas:
        mine = parse_rows[sha256_text(f"llamaparse|parse|{TIER}|{sha}")]
        settled = [r for r in mine if r.status == "settled"]
        held = [r for r in mine if r.status == "expired"]
        assert len(settled) >= 1 and len(settled) <= len(jobs[sha]) <= len(settled) + len(held), sha
        credits = Decimal(sum(int(job["credits"]) for job in jobs[sha])) * tier.usd_per_credit
        settled_cost = sum((r.actual_cost for r in settled), Decimal(0))
        assert settled_cost <= credits <= settled_cost + sum((r.actual_cost for r in held), Decimal(0)), sha
