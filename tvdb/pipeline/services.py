from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from tvdb.chunking import Chunker
from tvdb_resources.embedding import Embedder
from tvdb_resources.parsing import DocumentParser
from tvdb_resources.storage import ObjectStore


@dataclass(frozen=True)
class PipelineServices:
    """What the stages work with; Dagster builds it from resources, the benchmark's bare loop by hand."""

    database_url: str
    sessions: sessionmaker[Session]
    store: ObjectStore
    parser: DocumentParser
    embedder: Embedder
    chunker: Chunker
