from dagster import AssetSelection, define_asset_job

from .partitions import ledger_days, upload_batches

ingest_batch = define_asset_job(
    "ingest_batch",
    selection=AssetSelection.groups("ingestion"),
    partitions_def=upload_batches,
    description="Uploads → parsed text → chunks → embeddings for one upload batch.",
)

summarize_costs = define_asset_job(
    "summarize_costs",
    selection=AssetSelection.groups("costs"),
    partitions_def=ledger_days,
    description="Re-summarise a UTC day of the cost ledger.",
)
