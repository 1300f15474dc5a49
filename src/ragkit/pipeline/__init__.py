"""Pipeline steps assembled in plain code."""

from ragkit.pipeline.batch import BatchConfig, BuildReport, index_corpus
from ragkit.pipeline.build import build_collection
from ragkit.pipeline.encoding import ShardEncoder
from ragkit.pipeline.evaluate import evaluate_retriever, retrieve_run
from ragkit.pipeline.interrupt import BuildInterrupted
from ragkit.pipeline.sources import (
    BeirSource,
    CsvSource,
    FolderSource,
    JsonlSource,
    ParquetSource,
    Source,
    open_source,
    read_folder,
)
from ragkit.pipeline.sync import HashedSource, SyncReport, sync_collection

__all__ = [
    "BatchConfig", "BuildInterrupted",
    "BeirSource", "BuildReport", "CsvSource", "FolderSource", "HashedSource", "JsonlSource", "ParquetSource",
    "ShardEncoder", "Source", "SyncReport", "build_collection", "evaluate_retriever", "index_corpus", "open_source",
    "read_folder", "retrieve_run", "sync_collection",
]
