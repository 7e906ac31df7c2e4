"""Dagster assets: the ingestion pipeline per upload batch, and the daily cost ledger summary."""
