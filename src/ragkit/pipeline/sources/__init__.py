"""Document sources read shard by shard as Arrow tables: folders and files of documents, JSONL, CSV, Parquet, BEIR."""

from ragkit.pipeline.sources._base import (
    DOCUMENT_SCHEMA,
    ShardSpec,
    Source,
    documents_table,
    iter_batches,
    table_documents,
    table_skipped,
)
from ragkit.pipeline.sources.beir import BeirSource
from ragkit.pipeline.sources.csvfile import CsvSource
from ragkit.pipeline.sources.fields import FieldMap
from ragkit.pipeline.sources.folder import ALL_SUFFIXES, HTML_SUFFIXES, TEXT_SUFFIXES, FolderSource, read_folder
from ragkit.pipeline.sources.html import html_to_text
from ragkit.pipeline.sources.jsonl import JsonlSource
from ragkit.pipeline.sources.loaders import SKIP_REASONS, Loaded, SkippedFile, load_file
from ragkit.pipeline.sources.open import SOURCE_KINDS, open_source
from ragkit.pipeline.sources.parquet import ParquetSource

__all__ = [
    "ALL_SUFFIXES", "DOCUMENT_SCHEMA", "HTML_SUFFIXES", "SKIP_REASONS", "SOURCE_KINDS", "TEXT_SUFFIXES", "BeirSource",
    "CsvSource", "FieldMap", "FolderSource", "JsonlSource", "Loaded", "ParquetSource", "ShardSpec", "SkippedFile",
    "Source", "documents_table", "html_to_text", "iter_batches", "load_file", "open_source", "read_folder",
    "table_documents", "table_skipped",
]
