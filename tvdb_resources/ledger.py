"""The cost ledger as a Dagster resource, shared by every service client."""

from __future__ import annotations

from dagster import ConfigurableResource

from tvdb.ledger import CallContext, FreeCall, Ledger

from .database import DatabaseResource


class CostLedgerResource(ConfigurableResource):
    database: DatabaseResource

    def ledger(self) -> Ledger:
        return Ledger(self.database.sessions())

    def record_free(self, call: FreeCall, context: CallContext) -> bool:
        return self.ledger().record_free(call, context)
