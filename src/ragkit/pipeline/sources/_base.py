"""What every document source shares: the Arrow schema of a document batch and shard plans.

A source reads a corpus as Arrow tables of documents (``id``, ``text``, ``metadata`` as a
JSON string) one *shard* at a time. :meth:`Source.plan` cuts the corpus into shards of
about ``shard_docs`` documents described by small JSON-able specs (file lists, byte or
row ranges); :meth:`Source.read` reads one spec. Shards can so be read in any order, on
any machine that sees the files, and skipped without reading when a build resumes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from ragkit.core.documents import Document

__all__ = ["DOCUMENT_SCHEMA", "SKIPPED_KEY", "ShardSpec", "Source", "documents_table", "table_documents", "table_skipped",
           "iter_batches"]

#: Schema of the document tables sources produce.
DOCUMENT_SCHEMA = pa.schema([("id", pa.string()), ("text", pa.large_string()), ("metadata", pa.string())])

#: Schema-metadata key of a document table listing the inputs its shard skipped (JSON list of
#: ``{"path", "reason", "detail"}``), so skips travel with the table to any process.
SKIPPED_KEY = b"ragkit.skipped"

#: One shard's description: ``index`` (0-based), ``docs`` (an upper bound on its documents), source-specific keys.
ShardSpec = dict[str, Any]


@runtime_checkable
class Source(Protocol):
    """A corpus readable shard by shard as Arrow tables of documents."""

    def describe(self) -> dict[str, Any]:
        """JSON-able identity of the source (kind, path, options): a resumed build must see the same."""
        ...

    def plan(self, shard_docs: int) -> list[ShardSpec]:
        """Cut the corpus into shards of at most ``shard_docs`` documents, in a fixed order."""
        ...

    def read(self, spec: ShardSpec) -> pa.Table:
        """The documents of one shard (schema :data:`DOCUMENT_SCHEMA`)."""
        ...


def documents_table(ids: list[str], texts: list[str], metadata: list[dict[str, Any]],
                    skipped: list[dict[str, str]] | None = None) -> pa.Table:
    """A document table from parallel lists (metadata dicts stored as JSON strings), listing ``skipped`` inputs."""
    table = pa.table({
        "id": pa.array(ids, type=pa.string()),
        "text": pa.array(texts, type=pa.large_string()),
        "metadata": pa.array([json.dumps(m, sort_keys=True) for m in metadata], type=pa.string()),
    })
    return table.replace_schema_metadata({SKIPPED_KEY: json.dumps(skipped)}) if skipped else table


def table_skipped(table: pa.Table | pa.RecordBatch) -> list[dict[str, str]]:
    """The inputs a document table's shard skipped (``path``, ``reason``, ``detail``), ``[]`` when none."""
    meta = table.schema.metadata or {}
    raw = meta.get(SKIPPED_KEY)
    return list(json.loads(raw)) if raw else []


def table_documents(table: pa.Table | pa.RecordBatch) -> list[Document]:
    """The :class:`Document` records of a document table (validated by ``Document``)."""
    ids = table.column("id").to_pylist()
    texts = table.column("text").to_pylist()
    metas = table.column("metadata").to_pylist()
    return [Document(id=i, text=t, metadata=json.loads(m) if m else {}) for i, t, m in zip(ids, texts, metas, strict=True)]


def iter_batches(source: Source, shard_docs: int = 10_000) -> Iterator[pa.RecordBatch]:
    """Stream the whole corpus as record batches, one shard in memory at a time."""
    for spec in source.plan(shard_docs):
        yield from source.read(spec).to_batches()
