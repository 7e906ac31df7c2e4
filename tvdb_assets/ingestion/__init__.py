from .assets import chunk_embeddings, document_chunks, parsed_documents, uploaded_documents

ingestion_assets = [uploaded_documents, parsed_documents, document_chunks, chunk_embeddings]

__all__ = ["ingestion_assets", "uploaded_documents", "parsed_documents", "document_chunks", "chunk_embeddings"]
