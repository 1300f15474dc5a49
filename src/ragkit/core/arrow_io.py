"""Arrow IPC files: written with fsync, read memory-mapped (zero copy)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

from ragkit.core.errors import CorruptIndexError
from ragkit.core.faults import checkpoint

__all__ = ["write_table", "read_table", "column_numpy", "fsync_path"]


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
    """Open an Arrow IPC file memory-mapped: pages are read only when touched.

    Raises:
        CorruptIndexError: if the file is not a readable Arrow IPC file.
    """
    try:
        source = pa.memory_map(str(path), "r")
        return ipc.open_file(source).read_all()
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        raise CorruptIndexError(f"{path.name}: not a readable Arrow IPC file ({exc}).") from exc


def column_numpy(table: pa.Table, name: str) -> np.ndarray:
    """A numeric column as a numpy array, zero-copy when the column has one chunk and no nulls."""
    column = table.column(name)
    if column.num_chunks == 1:
        return column.chunk(0).to_numpy(zero_copy_only=False)
    return column.to_numpy()
