"""Everything the ingestion stages need, as one resource composed of the swappable service resources."""

from __future__ import annotations

from dagster import ConfigurableResource

from tvdb.chunking import Chunker
from tvdb.pipeline.services import PipelineServices

from .database import DatabaseResource
from .embedding import Embedder
from .parsing import DocumentParser
from .storage import ObjectStore


class IngestionPipeline(ConfigurableResource):
    database: DatabaseResource
    store: ObjectStore
    parser: DocumentParser
    embedder: Embedder
    chunk_tokens: int = 512
    chunk_overlap_tokens: int = 64

    def services(self) -> PipelineServices:
        chunker = Chunker(self.chunk_tokens, self.chunk_overlap_tokens, self.embedder.spec().max_input_tokens)
        url = self.database.resolved_url()
        return PipelineServices(url, self.database.sessions(), self.store, self.parser, self.embedder, chunker)
