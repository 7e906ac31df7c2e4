"""Dagster resources behind small interfaces: object store, parser, embedder, database and cost ledger.

Each interface has a free local implementation today; the paid clients (OpenAI, LlamaParse, Supabase) and the hybrid
router are further implementations of the same interfaces, chosen per mode in ``tvdb_assets.definitions``.
"""
