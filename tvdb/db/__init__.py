"""The product's own state (uploads, documents, chunks, embeddings, the cost ledger, service controls)."""
