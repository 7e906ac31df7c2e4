"""Eight worker processes spend against one small OpenAI daily budget on the real PostgreSQL.

Each worker is its own interpreter (``workers.py budget``) with its own engine and SDK client, calling
``OpenAIEmbedder.embed`` through the official SDK against the OpenAI emulator (20 ms latency, so calls overlap), one
request per text, until the budget refuses a call with ``BudgetExceeded``. The budget (``service_controls``) holds
about 60% of all the work the workers ask for, so the reservation lock is what decides who may spend.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from tvdb.db.engine import session_factory
from tvdb.db.models import CostEntry, ServiceControl, ServiceSpend
from tvdb.db.types import utcnow
from tvdb.tokens import count_tokens
from tvdb_emulators.testing import OPENAI_TEST_KEY

pytestmark = pytest.mark.postgres

WORKERS_SCRIPT = Path(__file__).with_name("workers.py")
REPO = Path(__file__).resolve().parents[2]
PRICE = Decimal("0.02") / 1_000_000  # text-embedding-3-small, USD per token
N_WORKERS = 8
CALLS_PER_WORKER = 40
SHARE = Decimal("0.6")
WORDS = ["ledger", "budget", "reservation", "settle", "worker", "spend", "limit", "token", "request", "provider",
         "invoice", "daily", "emulator", "vector", "chunk", "document", "batch", "hold", "refuse", "concurrent"]


def _texts(worker: int) -> list[str]:
    """Distinct texts (distinct work, so no call's idempotency key meets another's), 20 to 49 words each."""
    texts = []
    for call in range(CALLS_PER_WORKER):
        n = 20 + (call * 7 + worker * 3) % 30
        body = " ".join(WORDS[(worker + call + k) % len(WORDS)] for k in range(n))
        texts.append(f"worker {worker} call {call}: {body}")
    return texts


def _max_overlap(entries: list[dict]) -> int:
    """Most requests the emulator was handling at the same moment (from its journal: end time and duration)."""
    events = []
    for entry in entries:
        end = entry["at"]
        events += [(end - entry["duration_ms"] / 1000, 1), (end, -1)]
    level = peak = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        level += step
        peak = max(peak, level)
    return peak


def test_concurrent_workers_never_overspend_and_the_ledger_matches_the_bill(postgres_url, openai_emulator, tmp_path):
    sessions = session_factory(postgres_url)  # migrates the fresh database before the workers open it
    texts = {w: _texts(w) for w in range(N_WORKERS)}
    requested_tokens = sum(count_tokens(t) for ts in texts.values() for t in ts)
    limit = PRICE * int(requested_tokens * SHARE)
    with sessions.begin() as session:
        session.add(ServiceControl(service="openai", daily_limit_usd=limit))
    openai_emulator.emulator.configure(latency_ms=20)

    go = tmp_path / "go"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAILY_COST_LIMIT_", "SERVICE_MODE"))}
    procs = []
    for worker in range(N_WORKERS):
        spec = tmp_path / f"spec-{worker}.json"
        spec.write_text(json.dumps({
            "worker": worker, "database_url": postgres_url, "base_url": openai_emulator.base_url,
            "api_key": OPENAI_TEST_KEY, "texts": texts[worker], "ready_file": str(tmp_path / f"ready-{worker}"),
            "go_file": str(go),
        }))
        procs.append(subprocess.Popen([sys.executable, str(WORKERS_SCRIPT), "budget", str(spec)], cwd=REPO, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready-{w}").exists() for w in range(N_WORKERS)):
            crashed = [p for p in procs if p.poll() is not None]
            assert not crashed, crashed[0].communicate()[1][-3000:]
            assert time.monotonic() < deadline, "workers did not get ready"
            time.sleep(0.02)
        go.touch()  # every worker starts spending at once
        reports = []
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err[-3000:]
            [line] = [line for line in out.splitlines() if line.startswith("REPORT ")]
            reports.append(json.loads(line.removeprefix("REPORT ")))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    openai_emulator.emulator.wait_idle()

    errors = [r["error"] for r in reports if r["error"]]
    assert not errors, errors[0]
    refusals = [r["refused"] for r in reports if r["refused"]]
    total_ok = sum(r["ok"] for r in reports)
    assert refusals, "the budget never refused a call"
    assert total_ok < N_WORKERS * CALLS_PER_WORKER

    billing = openai_emulator.emulator.billing()
    billed_tokens = int(billing["totals"]["tokens"])
    billed_usd = billed_tokens * PRICE
    embeddings = [e for e in openai_emulator.emulator.requests() if e["route"] == "embeddings"]

    # The provider never billed more than the budget, and billed exactly the calls the workers saw succeed.
    assert billed_usd <= limit
    assert billed_tokens == sum(r["ok_tokens"] for r in reports)
    assert len(billing["rows"]) == len(embeddings) == total_ok  # no paid request without a hold, none refused
    assert {e["status"] for e in embeddings} == {200}

    with sessions() as session:
        rows = session.scalars(select(CostEntry).where(CostEntry.service == "openai")).all()
        spend = session.get(ServiceSpend, ("openai", utcnow().date()))
    assert {r.status for r in rows} == {"settled"}  # nothing left reserved, nothing released or expired
    assert len(rows) == len({r.idempotency_key for r in rows}) == total_ok
    assert sum(r.units for r in rows) == billed_tokens
    assert sum(r.actual_cost for r in rows) == billed_usd  # exact: Decimal against NUMERIC(20, 10)
    assert spend.spent_usd == billed_usd and spend.reserved_usd == 0

    # The refusals were not premature: what is left is less than the call the budget refused.
    assert limit - spend.spent_usd < max(Decimal(r["needed"]) for r in refusals)
    assert all(Decimal(r["needed"]) > Decimal(r["remaining"]) for r in refusals)
    # And the workers really did compete: several spent, with requests in flight at the same time.
    assert sum(1 for r in reports if r["ok"]) >= N_WORKERS // 2
    assert _max_overlap(embeddings) >= 2
