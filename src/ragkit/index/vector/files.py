"""The files of a saved :class:`~ragkit.index.vector.faiss.FaissIndex`.

``vectors.faiss`` (the CPU index), ``vectors.arrow`` (the exact vectors, one fixed-size
list per row), ``slots.arrow`` (the row of each FAISS slot, -1 when deleted) and
``faiss_meta.json`` (the factory in use, the dimension, the tuning curve, and where the
exact vectors are).

The exact vectors are stored once: a flat or HNSW-flat index whose slot ``i`` holds row ``i``'s
exact vector (as after a build, appends and deletes) already holds them all, so ``vectors.arrow``
is not written and they are read back as a view of the (memory-mapped) index. Any other index,
or one whose slots no longer line up with the rows (after an upsert or a compaction), writes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ragkit.core.arrow_io import column_numpy, read_table, to_numpy, write_table
from ragkit.core.deps import require
from ragkit.core.errors import CorruptIndexError
from ragkit.core.validation import output_folder
from ragkit.index.vector.engine import read_faiss, stored_vectors
from ragkit.index.vector.header import check_faiss_file
from ragkit.index.vector.tuning import TuningResult

__all__ = ["INDEX_FILE", "META_FILE", "SLOTS_FILE", "VECTORS_FILE", "SavedIndex", "read_index", "read_meta", "read_saved", "read_slots",
           "read_vectors", "row_slots", "write_files"]

INDEX_FILE, VECTORS_FILE, SLOTS_FILE, META_FILE = "vectors.faiss", "vectors.arrow", "slots.arrow", "faiss_meta.json"


def write_files(directory: Path, index: Any, *, binary: bool, vectors: np.ndarray, slot_row: np.ndarray,
                factory: str | None, tuning: TuningResult | None) -> list[str]:
    """Write the files into ``directory`` (``vectors.arrow`` only where the index does not hold the exact vectors); returns their names."""
    faiss = require("faiss", package="faiss-cpu")
    directory = output_folder("FaissIndex.save", directory)
    if binary:
        faiss.write_index_binary(index, str(directory / INDEX_FILE))
    else:
        faiss.write_index(index, str(directory / INDEX_FILE))
    d = int(vectors.shape[1])
    codes = None if binary else stored_vectors(faiss, index)
    in_index = codes is not None and codes.shape == vectors.shape and bool(np.array_equal(codes, vectors))
    if not in_index:
        flat = pa.array(np.ascontiguousarray(vectors).reshape(-1))
        write_table(directory / VECTORS_FILE, pa.table({"vector": pa.FixedSizeListArray.from_arrays(flat, d)}))
    write_table(directory / SLOTS_FILE, pa.table({"row": pa.array(slot_row)}))
    meta = {"factory": factory, "dimension": d, "tuning": tuning.to_dict() if tuning is not None else None,
            "vectors": "index" if in_index else VECTORS_FILE}
    (directory / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
    if in_index:
        return [INDEX_FILE, SLOTS_FILE, META_FILE]
    return [INDEX_FILE, VECTORS_FILE, SLOTS_FILE, META_FILE]


def read_meta(directory: Path) -> tuple[str, int, TuningResult | None, bool]:
    """The factory, dimension and tuning result saved in ``faiss_meta.json``, and whether the index holds the exact vectors.

    Raises:
        CorruptIndexError: the file is unreadable or lacks an entry.
    """
    try:
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        factory = str(meta["factory"])
        dimension = int(meta["dimension"])
        tuning = TuningResult.from_dict(meta["tuning"]) if meta.get("tuning") else None
        where = meta.get("vectors", VECTORS_FILE)  # saves before this entry: always vectors.arrow
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorruptIndexError(f"{META_FILE}: unreadable ({exc}).") from exc
    if where not in ("index", VECTORS_FILE):
        raise CorruptIndexError(f"{META_FILE}: 'vectors' must be 'index' or {VECTORS_FILE!r}, not {where!r}.")
    return factory, dimension, tuning, where == "index"


def read_index(directory: Path, *, binary: bool, mmap: bool) -> tuple[Any, bool]:
    """The saved FAISS index and whether it is memory-mapped (read-only).

    Every size the file declares is checked against the file, ``faiss_meta.json``'s dimension
    and ``slots.arrow``'s row count before FAISS reads it (FAISS allocates what a file claims).

    Raises:
        CorruptIndexError: the file is inconsistent, or FAISS cannot read it.
    """
    dimension = read_meta(directory)[1]
    check_faiss_file(directory / INDEX_FILE, binary=binary, dimension=dimension, ntotal=read_table(directory / SLOTS_FILE).num_rows,
                     ntotal_from=SLOTS_FILE)
    return read_faiss(require("faiss", package="faiss-cpu"), directory / INDEX_FILE, binary=binary, mmap=mmap)


def read_vectors(directory: Path, dimension: int) -> np.ndarray:
    """The exact vectors (n, dimension), zero-copy over the memory-mapped file when it has one chunk.

    Raises:
        CorruptIndexError: the column is not of ``dimension``-d vectors.
    """
    column = read_table(directory / VECTORS_FILE).column("vector")
    vectors = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()  # one chunk: zero-copy
    if not pa.types.is_fixed_size_list(vectors.type) or vectors.type.list_size != dimension:
        raise CorruptIndexError(f"{VECTORS_FILE}: expected {dimension}-d vectors.")
    return to_numpy(vectors.flatten()).reshape(-1, dimension)


def read_slots(directory: Path) -> np.ndarray:
    """The row of each FAISS slot (int64, -1 for a deleted slot), in memory (it is written to)."""
    return column_numpy(read_table(directory / SLOTS_FILE), "row").astype(np.int64).copy()


def row_slots(slot_row: np.ndarray, n_rows: int) -> np.ndarray:
    """The inverse map: the FAISS slot of each of ``n_rows`` rows (-1: deleted)."""
    row_slot = np.full(n_rows, -1, dtype=np.int64)
    live = np.flatnonzero(slot_row >= 0)
    row_slot[slot_row[live]] = live
    return row_slot


@dataclass(frozen=True)
class SavedIndex:
    """Everything :func:`read_saved` reads back, checked for consistency."""

    factory: str
    tuning: TuningResult | None
    index: Any
    mapped: bool
    vectors: np.ndarray
    slot_row: np.ndarray
    row_slot: np.ndarray
    vectors_in_index: bool  # ``vectors`` is a read-only view of ``index``'s codes


def read_saved(directory: Path, *, binary: bool) -> SavedIndex:
    """The saved files read back: the exact vectors memory-mapped (or viewed in the index), the FAISS file too where its type allows.

    Raises:
        CorruptIndexError: unreadable or mutually inconsistent files.
    """
    directory = Path(directory)  # a str path works too
    factory, dimension, tuning, in_index = read_meta(directory)
    mappable = not binary and "IVF" not in factory  # IVF maps to on-disk lists FAISS cannot copy
    index, mapped = read_index(directory, binary=binary, mmap=mappable)
    if int(index.d) != dimension:
        raise CorruptIndexError(f"{INDEX_FILE}: dimension {index.d}, the manifest says {dimension}.")
    viewed = stored_vectors(require("faiss", package="faiss-cpu"), index) if in_index and not binary else None
    if in_index and viewed is None:
        raise CorruptIndexError(f"{META_FILE}: says {INDEX_FILE} holds the exact vectors, but a {factory} index does not.")
    vectors = viewed if viewed is not None else read_vectors(directory, dimension)
    slot_row = read_slots(directory)
    n_rows, ntotal = vectors.shape[0], int(index.ntotal)
    if slot_row.shape[0] != ntotal or (slot_row >= n_rows).any():
        raise CorruptIndexError(f"{SLOTS_FILE}: does not match {INDEX_FILE} ({ntotal} slots) and {n_rows} rows.")
    return SavedIndex(factory, tuning, index, mapped, vectors, slot_row, row_slots(slot_row, n_rows), in_index)
