"""The three Arrow files of a saved BM25 index: terms, postings, rows. Written whole, read memory-mapped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from ragkit.core.arrow_io import column_numpy, read_table, write_table
from ragkit.core.errors import CorruptIndexError
from ragkit.core.validation import output_folder
from ragkit.index.bm25.postings import Postings
from ragkit.index.bm25.version import POSTINGS_FILE

__all__ = ["FILES", "read_index_files", "write_index_files"]

#: The files of one saved index, in the order :func:`write_index_files` returns them.
FILES = ("bm25_terms.arrow", POSTINGS_FILE, "bm25_docs.arrow")


def write_index_files(directory: Path, terms: pa.Array, postings: Postings, doc_len: np.ndarray,
                      alive: np.ndarray) -> list[str]:
    """Write the index's terms (the first ``postings.n_terms``), postings and row states; returns the file names."""
    p, directory = postings, output_folder("BM25Index.save", directory)
    write_table(directory / FILES[0], pa.table({
        "term": terms.slice(0, p.n_terms), "offset": pa.array(p.indptr[:-1]), "df": pa.array(p.df()),
    }))
    write_table(directory / FILES[1], pa.table({"row": pa.array(p.rows), "tf": pa.array(p.tf)}))
    write_table(directory / FILES[2], pa.table({"length": pa.array(doc_len), "alive": pa.array(alive)}))
    return list(FILES)


def read_index_files(directory: Path) -> tuple[pa.Array, Postings, np.ndarray, np.ndarray]:
    """``(terms, postings, row lengths, alive)`` of the index saved in ``directory``, memory-mapped.

    Posting rows are bounds-checked when a query first touches them, not here: opening reads
    only the small arrays, so it stays fast at any size.

    Raises:
        CorruptIndexError: the files are unreadable or inconsistent with each other.
    """
    directory = Path(directory)  # a str path works too
    terms = read_table(directory / FILES[0])
    postings = read_table(directory / FILES[1])
    docs = read_table(directory / FILES[2])
    try:
        offset = column_numpy(terms, "offset").astype(np.int64, copy=False)
        df = column_numpy(terms, "df").astype(np.int64, copy=False)
        rows = column_numpy(postings, "row").astype(np.int32, copy=False)
        tf = column_numpy(postings, "tf").astype(np.int32, copy=False)
        doc_len = column_numpy(docs, "length").astype(np.int32, copy=False)
        alive = column_numpy(docs, "alive").astype(bool, copy=False)
        term_column = terms.column("term").combine_chunks()
    except (KeyError, pa.ArrowInvalid) as exc:
        raise CorruptIndexError(f"BM25 files in {directory.name}: a column is missing or malformed ({exc}).") from exc
    nnz = int(rows.shape[0])
    if offset.shape[0] and (offset[-1] + df[-1] != nnz or np.any(offset[1:] != offset[:-1] + df[:-1])):
        raise CorruptIndexError(f"{FILES[0]}: term offsets do not match {FILES[1]} ({nnz} postings).")
    if alive.shape != doc_len.shape:
        raise CorruptIndexError(f"{FILES[2]}: 'alive' and 'length' columns differ in length.")
    return term_column, Postings(np.append(offset, nnz), rows, tf), doc_len, alive
