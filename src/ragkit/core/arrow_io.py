"""Arrow IPC files: written with fsync, read memory-mapped (zero copy) and validated."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

from ragkit.core.errors import CorruptIndexError
from ragkit.core.faults import checkpoint

__all__ = ["FULL_VALIDATION_BYTES", "write_table", "read_table", "column_numpy", "to_numpy", "array_numpy", "from_numpy",
           "encode_utf8", "from_strings", "from_values", "fsync_path"]

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
    return to_numpy(column)


_NUMPY_TYPES = {pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32, pa.int64(): np.int64,
                pa.uint8(): np.uint8, pa.uint16(): np.uint16, pa.uint32(): np.uint32, pa.uint64(): np.uint64,
                pa.float16(): np.float16, pa.float32(): np.float32, pa.float64(): np.float64}


_ARROW_TYPES = {np.dtype(v): k for k, v in _NUMPY_TYPES.items()}


def to_numpy(values: pa.Array | pa.ChunkedArray, *, fill: int | float | None = None) -> np.ndarray:
    """A numeric or bool Arrow array (or chunked array) as numpy: :func:`array_numpy` per chunk (``fill``: for nulls)."""
    if isinstance(values, pa.ChunkedArray):
        if values.num_chunks == 1:
            return array_numpy(values.chunk(0), fill=fill)
        return array_numpy(values.combine_chunks(), fill=fill)
    return array_numpy(values, fill=fill)


def from_numpy(values: np.ndarray) -> pa.Array:
    """A 1-d numeric or bool numpy array as an Arrow array without pyarrow's pandas-aware conversion (see
    :func:`array_numpy`); zero-copy for numbers."""
    values = np.ascontiguousarray(values)
    if values.ndim != 1:
        raise ValueError(f"from_numpy takes a 1-d array, got shape {values.shape}")
    if values.dtype == np.bool_:
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(np.packbits(values, bitorder="little"))])
    kind = _ARROW_TYPES.get(values.dtype)
    if kind is None:
        return pa.array(values)
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def encode_utf8(strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``strings`` as UTF-8: each one's byte length (int64) and all their bytes concatenated (uint8)."""
    joined = "".join(strings)
    chars = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    if joined.isascii():  # one byte per character: lengths are the strings' lengths
        return chars, np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)  # UTF-8 takes 1-4 bytes by code point
    width = 1 + (points >= 0x80).astype(np.int64) + (points >= 0x800) + (points >= 0x10000)
    ends = np.zeros(points.shape[0] + 1, dtype=np.int64)
    np.cumsum(width, out=ends[1:])
    return np.diff(ends[np.cumsum(chars)], prepend=0), np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)


def from_strings(strings: Sequence[str]) -> pa.Array:
    """Python strings as an Arrow string array made from their UTF-8 bytes (:func:`encode_utf8`; ``large_string``
    past 2 GiB).

    ``pa.array`` on Python or numpy values imports pandas when it is installed (~0.1 s, once per
    process); a query path must not pay that.
    """
    lengths, data = encode_utf8(strings)
    offsets = np.zeros(len(strings) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] < 2**31:
        return pa.StringArray.from_buffers(len(strings), pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data))
    return pa.LargeStringArray.from_buffers(len(strings), pa.py_buffer(offsets), pa.py_buffer(data))


def from_values(values: Sequence[Any]) -> pa.Array:
    """Python values as an Arrow array, typed as ``pa.array`` types them; all-str, all-bool, all-int (64-bit) and
    int/float lists are built without pyarrow's pandas-aware conversion (see :func:`from_strings`), anything
    else goes through ``pa.array``."""
    kinds = {type(v) for v in values}
    try:
        if kinds == {str}:
            return from_strings(values)
        if kinds == {bool}:
            return from_numpy(np.array(values, dtype=bool))
        if kinds == {int}:
            return from_numpy(np.array(values, dtype=np.int64))
        if kinds and kinds <= {int, float} and all(abs(v) <= 2**53 for v in values if type(v) is int):  # exact as float
            return from_numpy(np.array(values, dtype=np.float64))
    except OverflowError:  # an int past 64 bits: pa.array decides (it raises or widens as it always did)
        pass
    return pa.array(values)


def array_numpy(array: pa.Array, *, fill: int | float | None = None) -> np.ndarray:
    """A numeric or bool Arrow array as numpy, straight from its buffers (zero-copy for null-free numbers).

    ``fill`` replaces nulls. pyarrow's own ``to_numpy`` and ``fill_null`` with a Python scalar import
    pandas when it is installed (~0.3 s), which opening a collection or a first search must not pay;
    other types, and nulls without ``fill``, still go through pyarrow.
    """
    numeric = array.type in _NUMPY_TYPES
    if not (numeric or pa.types.is_boolean(array.type)) or (array.null_count and fill is None):
        return array.to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]
    validity, data = array.buffers()[:2]
    if data is None:  # an empty array may have no data buffer
        return np.empty(0, dtype=_NUMPY_TYPES[array.type] if numeric else bool)
    if not numeric:
        bits = _bits(data, array.offset, len(array))
        if array.null_count and validity is not None:
            bits = np.where(_bits(validity, array.offset, len(array)), bits, bool(fill))
        return bits
    dtype = np.dtype(_NUMPY_TYPES[array.type])
    values = np.frombuffer(data, dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize)
    if array.null_count and validity is not None:
        values = np.where(_bits(validity, array.offset, len(array)), values, np.asarray(fill, dtype=dtype))
    return values


def _bits(buffer: pa.Buffer, offset: int, length: int) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(buffer, dtype=np.uint8), bitorder="little")
    return bits[offset:offset + length].astype(bool)
