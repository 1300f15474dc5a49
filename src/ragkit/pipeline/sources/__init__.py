"""Document sources read shard by shard as Arrow tables: folders, JSONL, Parquet, BEIR."""

from ragkit.pipeline.sources._base import DOCUMENT_SCHEMA, ShardSpec, Source, documents_table, iter_batches, table_documents
from ragkit.pipeline.sources.beir import BeirSource
from ragkit.pipeline.sources.folder import HTML_SUFFIXES, TEXT_SUFFIXES, FolderSource, read_folder
from ragkit.pipeline.sources.html import html_to_text
from ragkit.pipeline.sources.jsonl import JsonlSource
from ragkit.pipeline.sources.open import open_source
from ragkit.pipeline.sources.parquet import ParquetSource

__all__ = [
    "DOCUMENT_SCHEMA", "HTML_SUFFIXES", "TEXT_SUFFIXES", "BeirSource", "FolderSource", "JsonlSource", "ParquetSource",
    "ShardSpec", "Source", "documents_table", "html_to_text", "iter_batches", "open_source", "read_folder",
    "table_documents",
]
