"""Parse jobs of the LlamaParse emulator: their timeline, their result, their credits, and the 48 h result cache.

A job's document is parsed when the job is created (so its outcome and page count are known at once), but the
job shows PENDING for ``job_pending_ms``, then RUNNING for ``job_running_ms``, then COMPLETED or FAILED, on the
emulator clock, whether or not anyone polls. Its credits are held as a reservation from creation and billed when
it reaches COMPLETED; FAILED and CANCELLED jobs bill 0, and so does a cache hit (same bytes, tier and page
selection as a job parsed within ``cache_ttl_s``, unless ``disable_cache``).
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .billing import BillingLedger

CREDITS_PER_PAGE = {"fast": 1, "cost_effective": 3, "agentic": 10, "agentic_plus": 45}
LATEST_VERSION = {"fast": "2026-06-15", "cost_effective": "2026-09-28", "agentic": "2026-10-16",
                  "agentic_plus": "2026-09-28"}
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")


def split_pages(text: str, pages: int) -> list[str]:
    """``text`` cut into ``pages`` consecutive pieces at whitespace; ``"".join(pieces) == text`` exactly.

    The parser reports a page count but one text, so the emulator shares the text out evenly over the pages.
    """
    cuts = [0]
    for k in range(1, pages):
        cut = max(cuts[-1], round(len(text) * k / pages))
        while cut < len(text) and not text[cut].isspace():
            cut += 1
        cuts.append(cut)
    cuts.append(len(text))
    return [text[a:b] for a, b in itertools.pairwise(cuts)]


def selected_pages(total: int, page_ranges: dict[str, Any] | None) -> list[int]:
    """1-based page numbers to process: ``target_pages`` ('1,3,5-8') wins over ``max_pages``, as in the API."""
    page_ranges = page_ranges or {}
    target = page_ranges.get("target_pages")
    if target:
        wanted: set[int] = set()
        for part in str(target).split(","):
            first, _, last = part.strip().partition("-")
            wanted.update(range(int(first), int(last or first) + 1))
        return sorted(p for p in wanted if 1 <= p <= total)
    limit = page_ranges.get("max_pages")
    return list(range(1, (min(total, int(limit)) if limit else total) + 1))


@dataclass
class Job:
    id: str
    project_id: str
    request_id: str
    tier: str
    version: str
    name: str
    file_sha256: str
    created_s: float  # emulator clock
    pending_s: float
    running_s: float
    outcome: str  # COMPLETED or FAILED: what the job becomes once it has run
    error_message: str | None = None
    pages: dict[int, str] = field(default_factory=dict)  # page number -> text, the selected pages only
    total_pages: int = 0
    mime: str | None = None
    credits: int = 0  # billed if and when it completes
    cache_hit: bool = False
    cancelled_s: float | None = None
    settled: bool = False
    user_metadata: dict[str, str] | None = None

    @property
    def done_s(self) -> float:
        return self.created_s + self.pending_s + self.running_s

    def status(self, now: float) -> str:
        if self.cancelled_s is not None:
            return "CANCELLED"
        if now >= self.done_s:
            return self.outcome
        return "RUNNING" if now >= self.created_s + self.pending_s else "PENDING"

    def updated_s(self, now: float) -> float:
        """Clock time of the latest status change."""
        if self.cancelled_s is not None:
            return self.cancelled_s
        changes = [self.created_s, self.created_s + self.pending_s, self.done_s]
        return max(t for t in changes if t <= now)

    def billed_credits(self, now: float) -> int | None:
        """What usage.credits shows: null until billing has recorded the job."""
        status = self.status(now)
        if status not in TERMINAL:
            return None
        return self.credits if status == "COMPLETED" else 0


def cache_key(data: bytes, tier: str, pages: list[int]) -> str:
    return hashlib.sha256(data).hexdigest() + f":{tier}:{','.join(map(str, pages))}"


class JobBook:
    """The jobs and the cache, with billing kept in step: every job is settled once it is terminal."""

    def __init__(self, ledger: BillingLedger) -> None:
        self._lock = threading.Lock()
        self.ledger = ledger
        self.jobs: dict[str, Job] = {}
        self._cache: dict[str, tuple[str, float]] = {}  # key -> (job id, clock time parsed)

    def cached(self, key: str, now: float, ttl_s: float) -> bool:
        with self._lock:
            hit = self._cache.get(key)
            if hit is None or now - hit[1] >= ttl_s:
                return False
            source = self.jobs.get(hit[0])
            return source is None or source.status(now) != "CANCELLED"

    def add(self, job: Job, key: str | None, quota: float | None) -> bool:
        """Record ``job`` and hold its credits; False (nothing recorded) when that would pass ``quota``."""
        with self._lock:
            if not self.ledger.reserve(job.id, job.credits, quota):
                return False
            self.jobs[job.id] = job
            if key is not None and job.outcome == "COMPLETED" and not job.cache_hit:
                self._cache[key] = (job.id, job.created_s)
            return True

    def cancel(self, job: Job, now: float) -> None:
        with self._lock:
            job.cancelled_s = now

    def delete(self, job_id: str) -> None:
        with self._lock:
            self.jobs.pop(job_id, None)

    def settle(self, now: float, iso_time: Callable[[float], str]) -> None:
        """Bill every job that has become terminal and is not billed yet."""
        with self._lock:
            for job in self.jobs.values():
                status = job.status(now)
                if job.settled or status not in TERMINAL:
                    continue
                job.settled = True
                row = {
                    "request_id": job.request_id, "job_id": job.id, "tier": job.tier, "status": status,
                    "pages": len(job.pages), "cache_hit": job.cache_hit, "file_name": job.name,
                    "file_sha256": job.file_sha256, "at": iso_time(job.updated_s(now)),
                }
                self.ledger.settle(job.id, row, job.billed_credits(now))
