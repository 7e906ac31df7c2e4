"""What a stage did to a batch: the figures that become Dagster metadata and CLI output."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from tvdb.db.types import utcnow
from tvdb.ledger import Ledger, ServiceUsage


@dataclass
class StageReport:
    stage: str
    batch_id: str
    started_at: datetime = field(default_factory=utcnow)
    started: float = field(default_factory=time.perf_counter)
    documents: int = 0  # documents this stage handled (worked on or found already done)
    worked: int = 0  # documents that needed a service call
    cached: int = 0  # documents whose result already existed
    failed: int = 0
    pages: int = 0
    chunks: int = 0
    tokens: int = 0
    errors: list[str] = field(default_factory=list)  # unexpected (service) errors: the step fails after the batch
    usage: ServiceUsage = field(default_factory=ServiceUsage)
    seconds: float = 0.0

    def finish(self, ledger: Ledger, asset: str) -> "StageReport":
        """Close the report, pricing it from the ledger rows this stage wrote for the batch."""
        self.seconds = time.perf_counter() - self.started
        usage = ledger.usage_between(self.started_at, utcnow(), batch_id=self.batch_id, asset=asset)
        for service_usage in usage.values():
            self.usage.add(service_usage)
        return self

    @property
    def cost_usd(self) -> Decimal:
        return self.usage.actual_cost

    @property
    def shadow_cost_usd(self) -> Decimal:
        return self.usage.shadow_cost
