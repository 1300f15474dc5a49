"""Arrow IPC files: written with fsync, read memory-mapped (zero copy) and validated."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

from ragkit.core.errors import CorruptIndexError
from ragkit.core.faults import checkpoint

__all__ = ["FULL_VALIDATION_BYTES", "write_table", "read_table", "column_numpy", "fsync_path"]

#: Files up to this size are validated in full on read (offsets, UTF-8, nested lengths: one pass
#: over the data); larger ones, memory-mapped so that opening stays fast, get Arrow's structural
#: checks (schema, buffer sizes, lengths) only.
FULL_VALIDATION_BYTES = 256 << 20


def fsync_path(path: Path) -> None:
    """Flush a file or folder to stable storage."""
    checkpoint(f"fsync {path.name}")
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_table(path: Path, table: pa.Table) -> None:
    """Write ``table`` as an Arrow IPC file and fsync it."""
    checkpoint(f"write {path.name}")
    with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
        checkpoint(f"close {path.name}")
    fsync_path(path)


def read_table(path: Path) -> pa.Table:
    """Open an Arrow IPC file memory-mapped (pages are read only when touched) and validate it.

    Validation is full up to :data:`FULL_VALIDATION_BYTES`, structural above, so that damage
    Arrow can see surfaces here, naming the file, instead of as an Arrow or decoding error at
    the first search.

    Raises:
        CorruptIndexError: if the file is not a readable, valid Arrow IPC file.
    """
    try:
        source = pa.memory_map(str(path), "r")
        table = ipc.open_file(source).read_all()
        table.validate(full=source.size() <= FULL_VALIDATION_BYTES)
    except (pa.ArrowException, OSError, ValueError, IndexError, KeyError) as exc:
        raise CorruptIndexError(f"{path.name}: not a readable Arrow IPC file ({exc}).") from exc
    return table


def column_numpy(table: pa.Table, name: str, *, source: str = "an Arrow file") -> np.ndarray:
    """A numeric (or bool) column without nulls as a numpy array, zero-copy when it has one chunk.

    Raises:
        CorruptIndexError: the column is missing, not numeric, or holds nulls (``source`` names the file).
    """
    if name not in table.column_names:
        raise CorruptIndexError(f"{source}: column {name!r} is missing.")
    column = table.column(name)
    kind = column.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)):
        raise CorruptIndexError(f"{source}: column {name!r} has type {kind}, expected numbers.")
    if column.null_count:
        raise CorruptIndexError(f"{source}: column {name!r} holds {column.null_count} nulls.")
    if column.num_chunks == 1:
        return column.chunk(0).to_numpy(zero_copy_only=False)
    return column.to_numpy()
