"""The chunk table: one Arrow row per chunk, metadata as a struct column."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from ragkit.core.documents import Chunk
from ragkit.core.errors import CorruptIndexError, InputError

__all__ = ["CHUNK_COLUMNS", "chunks_to_table", "check_chunk_table", "metadata_fields"]

#: Columns every chunk table has, in order, with their types (``metadata`` is a struct).
CHUNK_COLUMNS: dict[str, pa.DataType] = {
    "doc_id": pa.string(),
    "position": pa.int32(),
    "start": pa.int64(),
    "end": pa.int64(),
    "text": pa.large_string(),
}


def metadata_fields(schema: pa.Schema) -> list[str]:
    """The metadata field names of a chunk table's ``schema`` (none when it has no struct ``metadata`` column)."""
    meta = schema.field("metadata").type if "metadata" in schema.names else None
    return [meta.field(i).name for i in range(meta.num_fields)] if meta is not None and pa.types.is_struct(meta) else []


def chunks_to_table(chunks: Sequence[Chunk]) -> pa.Table:
    """Build the chunk table; metadata fields become typed children of one struct column.

    Raises:
        InputError: if a metadata field holds values of incompatible types across documents,
            or a value Arrow cannot store (an int beyond 64 bits, a string with a lone
            surrogate, a position beyond int32): nothing is built.
    """
    try:
        columns = {
            "doc_id": pa.array([c.doc_id for c in chunks], type=pa.string()),
            "position": pa.array([c.position for c in chunks], type=pa.int32()),
            "start": pa.array([c.start for c in chunks], type=pa.int64()),
            "end": pa.array([c.end for c in chunks], type=pa.int64()),
            "text": pa.array([c.text for c in chunks], type=pa.large_string()),
        }
    except (OverflowError, UnicodeEncodeError, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputError(
            f"Chunks cannot be stored: {exc}. A chunk's doc_id and text must be valid Unicode str, its position "
            "an int in [0, 2**31 - 1], its start and end ints in [0, 2**63 - 1]."
        ) from exc
    metadata = [dict(c.metadata) for c in chunks]
    try:
        if any(metadata):
            columns["metadata"] = pa.array(metadata)
        else:
            columns["metadata"] = pa.array(metadata, type=pa.struct([]))
    except (OverflowError, UnicodeEncodeError) as exc:
        raise InputError(
            f"Document metadata cannot be stored: {exc}. Metadata ints must fit in 64 bits and strings must be "
            "valid Unicode."
        ) from exc
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputError(
            f"Document metadata cannot be stored: {exc}. Give each metadata field one type "
            "across all documents (e.g. always str, or always int)."
        ) from exc
    return pa.table(columns)


def check_chunk_table(table: pa.Table, expected_rows: int, name: str) -> None:
    """Check a loaded chunk table has the expected columns and row count.

    Raises:
        CorruptIndexError: naming the file when the table does not fit.
    """
    for column, dtype in CHUNK_COLUMNS.items():
        if column not in table.column_names or table.schema.field(column).type != dtype:
            raise CorruptIndexError(f"{name}: column {column!r} of type {dtype} is missing.")
    if "metadata" not in table.column_names or not pa.types.is_struct(table.schema.field("metadata").type):
        raise CorruptIndexError(f"{name}: struct column 'metadata' is missing.")
    if table.num_rows != expected_rows:
        raise CorruptIndexError(f"{name}: holds {table.num_rows} chunks, the manifest records {expected_rows}.")
