"""TVDb core: settings, database, cost ledger, chunking and the pipeline stages shared by Dagster and the CLI."""
