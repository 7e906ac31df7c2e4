"""The pipeline's stages as plain functions over one upload batch.

intake → register (uploaded documents) → parse → chunk → embed, each stage reading the batch from the database and
advancing each upload's status. Dagster assets call these stages, and so does the benchmark's bare loop, so both run
exactly the same code. Work streams in pages of documents: memory follows the page size, not the batch size.
"""
