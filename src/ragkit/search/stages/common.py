"""What the stages after fusion share: reading candidate rows from the storage, notes in the trace."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ragkit.core.arrow_io import from_numpy
from ragkit.core.results import Candidates

if TYPE_CHECKING:
    from ragkit.search.context import SearchContext

__all__ = ["chunk_columns", "cut", "joined", "note", "passage_texts", "row_vectors"]


def cut(candidates: Candidates, n: int) -> Candidates:
    """The first ``n`` candidates."""
    return candidates if len(candidates) <= n else Candidates(candidates.rows[:n], candidates.scores[:n])


def joined(per_query: Sequence[Candidates]) -> tuple[np.ndarray, np.ndarray]:
    """Every query's rows, concatenated, and the offsets of each query's slice (``n_queries + 1``)."""
    counts = np.fromiter((len(c) for c in per_query), dtype=np.int64, count=len(per_query))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    rows = np.concatenate([c.rows for c in per_query]).astype(np.int64) if per_query else np.empty(0, np.int64)
    return rows, offsets


def chunk_columns(context: SearchContext, rows: np.ndarray, columns: Sequence[str]) -> dict[str, list[Any]]:
    """The given columns of the chunk table at ``rows`` (only those rows are read)."""
    if rows.size == 0:
        return {name: [] for name in columns}
    table = context.storage.chunks.select(list(columns)).take(from_numpy(np.asarray(rows, dtype=np.int64)))
    return {name: table.column(name).to_pylist() for name in columns}


def passage_texts(context: SearchContext, rows: np.ndarray, prepend: Sequence[str] = ()) -> list[str]:
    """The text of each row, after the metadata fields named in ``prepend`` (a list joins with " > ")."""
    if not prepend:
        return chunk_columns(context, rows, ["text"])["text"]
    read = chunk_columns(context, rows, ["text", "metadata"])
    out = []
    for text, meta in zip(read["text"], read["metadata"], strict=True):
        parts = []
        for name in prepend:
            value = (meta or {}).get(name)
            if isinstance(value, list):
                value = " > ".join(str(v) for v in value)
            if value not in (None, ""):
                parts.append(str(value))
        out.append("\n".join([*parts, text]))
    return out


def row_vectors(context: SearchContext, rows: np.ndarray) -> np.ndarray:
    """The stored vectors of ``rows`` from the storage's vector index (float32, one row each; no re-embedding).

    Raises:
        InputError: the storage has no vector index.
    """
    storage = context.storage
    index: Any = storage.index(storage.index_of_kind("vector"))
    unique, at = np.unique(rows, return_inverse=True)  # queries may share rows
    return np.asarray(index.row_vectors(unique), dtype=np.float32)[at.reshape(-1)]


def note(context: SearchContext, name: str, message: str) -> None:
    """Tell the call's tracer, when it takes notes (``ragkit.observe.Trace`` does)."""
    record = getattr(context.trace, "note", None)
    if record is not None:
        record(name, message)
