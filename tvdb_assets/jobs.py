from dagster import AssetSelection, define_asset_job

ingest_batch = define_asset_job(
    "ingest_batch",
    selection=AssetSelection.groups("ingestion"),
    description="Uploads → parsed text → chunks → embeddings for one upload batch.",
)

summarize_costs = define_asset_job(
    "summarize_costs",
    selection=AssetSelection.groups("costs"),
    description="Re-summarise a UTC day of the cost ledger.",
)
