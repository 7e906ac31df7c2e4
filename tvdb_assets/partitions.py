from dagster import DailyPartitionsDefinition, DynamicPartitionsDefinition

# One partition per upload batch: a batch, never a single document, is the unit of a run (runs cost seconds to start).
upload_batches = DynamicPartitionsDefinition(name="upload_batches")

# UTC days of the cost ledger; end_offset=1 includes today, whose summary grows as the day goes on.
ledger_days = DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC", end_offset=1)
