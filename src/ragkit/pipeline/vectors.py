"""Bring your own vectors: document vectors computed elsewhere, checked, in the order of the chunks.

:func:`~ragkit.build_collection` and :func:`~ragkit.index_corpus` take ``vectors=`` instead
of embedding the chunks themselves. The vectors may be

* an array ``(n_chunks, dim)`` whose row ``i`` is chunk ``i`` (``build_collection`` only: the
  chunk order is the chunk table's, documents in their order, chunks by position);
* a mapping ``chunk_id -> vector`` (chunk ids are ``"<doc_id>#<position>"``);
* a callable ``f(chunk_ids) -> array (len(chunk_ids), dim)``, asked once per batch of chunks.

Every batch is checked: float, 2-d, one row per chunk, the dimension of the others (and of the
embedder's, when known), finite, unit L2 norm (inner-product search needs it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ragkit.core.errors import DimensionMismatchError, InputError
from ragkit.index.vector import check_vectors

__all__ = ["GivenVectors", "VectorSource", "resolve_vectors"]

#: What ``vectors=`` accepts.
VectorSource = np.ndarray | Mapping[str, Any] | Callable[[Sequence[str]], Any]


def resolve_vectors(given: Any, chunk_ids: Sequence[str], *, owner: str, dimension: int | None = None,
                    allow_array: bool = True) -> np.ndarray:
    """The float32 unit rows for ``chunk_ids`` from ``given`` (see the module docstring), checked.

    Raises:
        InputError: a wrong kind of object, a missing chunk id, a wrong number of rows, a non-float
            array, NaN or infinity, or rows that are not unit length.
        DimensionMismatchError: rows of another dimension than ``dimension``.
    """
    n = len(chunk_ids)
    if isinstance(given, Mapping):
        missing = [c for c in chunk_ids if c not in given]
        if missing:
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            raise InputError(f"{owner}: vectors= has no vector for chunk id(s) {', '.join(map(repr, missing[:3]))}{more}; "
                             "chunk ids are '<doc_id>#<position>'.")
        rows = [np.asarray(given[c]) for c in chunk_ids]
        if any(r.ndim != 1 for r in rows):
            bad = next(c for c, r in zip(chunk_ids, rows, strict=True) if r.ndim != 1)
            raise InputError(f"{owner}: the vector of chunk {bad!r} is not 1-d (shape {np.shape(given[bad])}).")
        if len({r.shape[0] for r in rows}) > 1:
            raise InputError(f"{owner}: the vectors of vectors= have different lengths: {sorted({r.shape[0] for r in rows})}.")
        array: Any = np.stack(rows) if rows else np.empty((0, dimension or 0), dtype=np.float32)
    elif callable(given):
        array = given(list(chunk_ids))
    elif isinstance(given, np.ndarray) or hasattr(given, "__array__"):
        if not allow_array:
            raise InputError(f"{owner}: vectors= as an array needs the chunks in advance; stream them with a mapping "
                             "chunk_id -> vector or a callable f(chunk_ids) -> array instead.")
        array = given
    else:
        raise InputError(f"{owner}: vectors= must be an array (n_chunks, dim), a mapping chunk_id -> vector or a callable "
                         f"f(chunk_ids) -> array. Got {type(given).__name__}.")
    array = np.asarray(array)
    if array.ndim == 2 and array.shape[0] != n:
        raise InputError(f"{owner}: vectors= gave {array.shape[0]} rows for {n} chunks; give one row per chunk, "
                         "in the order of the chunk table.")
    if array.ndim == 2 and not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"{owner}: vectors= has dtype {array.dtype}; give float32 (or float64) vectors.")
    if dimension is not None and array.ndim == 2 and array.shape[1] != dimension:
        raise DimensionMismatchError(f"{owner}: vectors= has dimension {array.shape[1]}, but the query embedder makes "
                                     f"{dimension}-d vectors; give vectors of the model the collection will be searched with.")
    return check_vectors(array, owner=f"{owner} (vectors=)", dimension=dimension)


class GivenVectors:
    """The vectors of each shard of :func:`~ragkit.index_corpus` from ``vectors=`` (a mapping or a callable).

    Args:
        given: a mapping ``chunk_id -> vector`` or a callable ``f(chunk_ids) -> array``.
        dimension: the query embedder's dimension, when known (checked on every shard).
    """

    def __init__(self, given: Any, *, dimension: int | None = None) -> None:
        if not (isinstance(given, Mapping) or callable(given)):
            resolve_vectors(given, [], owner="index_corpus", allow_array=False)  # raises the InputError
        self.given = given
        self.dimension = dimension

    def vectors_for(self, chunks: Any, progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Checked float32 rows for the chunk table ``chunks`` of one shard."""
        from ragkit.store.updates import chunk_ids

        rows = resolve_vectors(self.given, chunk_ids(chunks).to_pylist(), owner="index_corpus",
                               dimension=self.dimension, allow_array=False)
        if self.dimension is None and rows.shape[0]:
            self.dimension = int(rows.shape[1])  # every shard must agree with the first
        if progress is not None:
            progress(int(rows.shape[0]))
        return rows
