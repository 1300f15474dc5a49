"""Pipeline steps assembled in plain code."""

from ragkit.pipeline.batch import BatchConfig, BuildReport, index_corpus
from ragkit.pipeline.build import build_collection
from ragkit.pipeline.encoding import ShardEncoder
from ragkit.pipeline.evaluate import evaluate_retriever, retrieve_run
from ragkit.pipeline.sources import BeirSource, FolderSource, JsonlSource, ParquetSource, Source, open_source, read_folder

__all__ = [
    "BatchConfig", "BeirSource", "BuildReport", "FolderSource", "JsonlSource", "ParquetSource", "ShardEncoder", "Source",
    "build_collection", "evaluate_retriever", "index_corpus", "open_source", "read_folder", "retrieve_run",
]
