"""What an emulator charged, row by row, in the provider's own unit (tokens, credits, bytes).

Only work a real provider would bill lands here. Work that may still be billed later (a parse job not yet finished)
is held as a reservation, which counts against the quota at once, so concurrent requests cannot overshoot a cap.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any


class BillingLedger:
    def __init__(self, unit: str, group_by: str) -> None:
        self.unit = unit
        self.group_by = group_by
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._rows: list[dict[str, Any]] = []
            self._held: dict[str, float] = {}
            self._notes: dict[str, dict[str, Any]] = {}

    def _row(self, row: dict[str, Any], amount: float) -> dict[str, Any]:
        return {"delivery": "ok", **row, **self._notes.get(row.get("request_id", ""), {}), self.unit: amount}

    def _fits(self, amount: float, quota: float | None) -> bool:
        committed = sum(row[self.unit] for row in self._rows) + sum(self._held.values())
        return quota is None or committed + amount <= quota

    def charge(self, amount: float, row: dict[str, Any], quota: float | None = None) -> bool:
        """Bill ``amount`` now, unless it would take the total past ``quota``."""
        with self._lock:
            if not self._fits(amount, quota):
                return False
            self._rows.append(self._row(row, amount))
            return True

    def reserve(self, key: str, amount: float, quota: float | None = None) -> bool:
        """Hold ``amount`` for work that is billed when it finishes; False when it would pass ``quota``."""
        with self._lock:
            if not self._fits(amount, quota):
                return False
            self._held[key] = amount
            return True

    def settle(self, key: str, row: dict[str, Any], amount: float | None = None) -> None:
        """Turn the hold on ``key`` into a billed row (of ``amount`` if given, else the amount held)."""
        with self._lock:
            held = self._held.pop(key, 0)
            self._rows.append(self._row(row, held if amount is None else amount))

    def release(self, key: str) -> None:
        with self._lock:
            self._held.pop(key, None)

    def annotate(self, request_id: str, **fields: Any) -> None:
        """Add fields (e.g. how the response was delivered) to the rows billed for ``request_id``, now or later
        (a parse job is billed when it finishes, after its create request was answered)."""
        with self._lock:
            self._notes.setdefault(request_id, {}).update(fields)
            for row in self._rows:
                if row.get("request_id") == request_id:
                    row.update(fields)

    def total(self) -> float:
        with self._lock:
            return sum(row[self.unit] for row in self._rows)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            rows = [dict(row) for row in self._rows]
            held = sum(self._held.values())
        by_group: dict[str, float] = defaultdict(int)
        for row in rows:
            by_group[str(row.get(self.group_by))] += row[self.unit]
        return {
            "unit": self.unit,
            "totals": {
                self.unit: sum(row[self.unit] for row in rows),
                "rows": len(rows),
                "pending": held,
                f"by_{self.group_by}": dict(by_group),
            },
            "rows": rows,
        }
