"""The ingestion assets of one upload batch. Data lives in the product database; assets carry the figures."""

from collections.abc import Callable

from dagster import AssetExecutionContext, Failure, MaterializeResult, asset

from tvdb.ledger import CallContext
from tvdb.pipeline import stages
from tvdb.pipeline.report import StageReport
from tvdb.pipeline.services import PipelineServices
from tvdb_resources.pipeline import IngestionPipeline

from ..partitions import upload_batches
from .metadata import stage_metadata

Stage = Callable[[PipelineServices, str, CallContext], StageReport]


def _materialize(context: AssetExecutionContext, pipeline: IngestionPipeline, stage: Stage) -> MaterializeResult:
    services = pipeline.services()
    report = stage(services, context.partition_key, CallContext(run_id=context.run.run_id))
    metadata = stage_metadata(report, services)
    if report.errors:
        # The uploads keep their status for a re-run; downstream stages must not run on a partial batch.
        raise Failure(
            description=f"{len(report.errors)} service error(s) in {report.stage}: {report.errors[0]}",
            metadata=metadata,
        )
    return MaterializeResult(metadata=metadata)


COMMON = dict(partitions_def=upload_batches, group_name="ingestion")


@asset(**COMMON, kinds={"python"})
def uploaded_documents(context: AssetExecutionContext, pipeline: IngestionPipeline) -> MaterializeResult:
    """The batch's stored uploads, registered as documents identified by the sha256 of their bytes."""
    return _materialize(context, pipeline, stages.register_documents)


@asset(**COMMON, deps=[uploaded_documents], kinds={"llamaparse"})
def parsed_documents(context: AssetExecutionContext, pipeline: IngestionPipeline) -> MaterializeResult:
    """Text of each document; a document parsed before, in any batch, is not parsed again."""
    return _materialize(context, pipeline, stages.parse_documents)


@asset(**COMMON, deps=[parsed_documents], kinds={"python"})
def document_chunks(context: AssetExecutionContext, pipeline: IngestionPipeline) -> MaterializeResult:
    """Token windows of each document's text (cl100k_base), within the embedding model's input limit."""
    return _materialize(context, pipeline, stages.chunk_documents)


@asset(**COMMON, deps=[document_chunks], kinds={"openai"})
def chunk_embeddings(context: AssetExecutionContext, pipeline: IngestionPipeline) -> MaterializeResult:
    """A vector per chunk, cached per (model, dimensions, sha256 of the chunk text)."""
    return _materialize(context, pipeline, stages.embed_chunks)
