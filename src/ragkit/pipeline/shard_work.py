"""The per-shard work both engines run: documents -> chunk table, chunk texts -> vectors."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.ipc as ipc

from ragkit.chunking.batch import chunk_documents
from ragkit.core.protocols import Chunker
from ragkit.pipeline.sources import table_documents
from ragkit.store.chunks import chunks_to_table

__all__ = ["chunk_shard", "table_to_bytes", "bytes_to_table", "TextColumn"]


def chunk_shard(documents: pa.Table, chunker: Chunker) -> pa.Table:
    """The chunk table of one shard's document table."""
    return chunks_to_table(chunk_documents(chunker, table_documents(documents)))


def table_to_bytes(table: pa.Table) -> bytes:
    """Arrow IPC stream bytes (to move a table between processes without pickling it)."""
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def bytes_to_table(data: bytes) -> pa.Table:
    return ipc.open_stream(pa.py_buffer(data)).read_all()


class TextColumn(Sequence[str]):
    """A read-only sequence view of a string column that materialises only the slices asked for.

    Lets :meth:`BM25Index.build` tokenise a corpus of any size in its batches without a
    Python list of every text.
    """

    def __init__(self, column: pa.ChunkedArray) -> None:
        self.column = column

    def __len__(self) -> int:
        return len(self.column)

    def __getitem__(self, item):  # type: ignore[no-untyped-def, override]
        if isinstance(item, slice):
            start, stop, step = item.indices(len(self.column))
            if step != 1:
                return self.column.to_pylist()[item]
            return self.column.slice(start, max(0, stop - start)).to_pylist()
        return self.column[item].as_py()
