"""Validation of what a vector index is given: embedding batches, row ids."""

from __future__ import annotations

from typing import Any

import numpy as np

from ragkit.core.errors import DimensionMismatchError, InputError
from ragkit.core.rowsets import check_row_ids

__all__ = ["NORM_TOLERANCE", "check_rows", "check_vectors"]

#: How far a row's L2 norm may be from 1 and still count as unit length.
NORM_TOLERANCE = 1e-3
# squared norms a single row is accepted with before the exact test: norm within 0.9 x NORM_TOLERANCE of 1
_SQUARED_LOW, _SQUARED_HIGH = (1 - 0.9 * NORM_TOLERANCE) ** 2, (1 + 0.9 * NORM_TOLERANCE) ** 2


def check_vectors(vectors: Any, *, owner: str, dimension: int | None = None) -> np.ndarray:
    """Validate a batch of embeddings: 2-d, finite, unit length; returns C-contiguous float32.

    Raises:
        InputError: wrong shape, non-finite values, or rows that are not unit length.
        DimensionMismatchError: when ``dimension`` is given and differs.
    """
    if (type(vectors) is np.ndarray and vectors.dtype == np.float32 and vectors.shape[0] == 1 and vectors.ndim == 2
            and vectors.flags.c_contiguous and (dimension is None or vectors.shape[1] == dimension)
            and _SQUARED_LOW <= float(np.vdot(vectors, vectors)) <= _SQUARED_HIGH):
        return vectors  # one query as the embedders give it (latency-bound): the test below for one row, sooner
    arr = np.asarray(vectors)
    if arr.ndim != 2 or arr.dtype.kind != "f":  # kind "f": the np.floating types
        raise InputError(f"{owner}: expected a 2-d float array (n, dim), got shape {arr.shape} dtype {arr.dtype}.")
    if dimension is not None and arr.shape[1] != dimension:
        raise DimensionMismatchError(
            f"{owner}: vectors have dimension {arr.shape[1]} but the index holds dimension {dimension}; "
            "embed with the same model the index was built with."
        )
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    n = arr.shape[0]
    # one row (a single query, latency-bound): its squared norm in one BLAS call, accepted when clearly inside the
    # tolerance (a tenth of it to spare, far more than float32 summation error); a NaN or infinity makes it NaN or
    # infinite and fails this test. Anything else is decided by the exact test below, as for a batch.
    if n == 1 and _SQUARED_LOW <= float(np.vdot(arr, arr)) <= _SQUARED_HIGH:
        return arr
    # the common case first: every norm (np.linalg.norm's own formula) within the tolerance. A NaN or infinity
    # makes its row's norm NaN or infinite and fails this test; the checks below then name the row.
    norms = np.sqrt(np.add.reduce(arr * arr, axis=1))
    if not n or np.maximum.reduce(np.abs(norms - 1.0)) <= NORM_TOLERANCE:
        return arr
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        bad = int(np.flatnonzero(~finite)[0])
        raise InputError(f"{owner}: row {bad} holds NaN or infinity; check the embedder's output.")
    off = np.abs(norms - 1.0) > NORM_TOLERANCE
    if off.any():
        bad = int(np.flatnonzero(off)[0])
        raise InputError(
            f"{owner}: row {bad} has L2 norm {norms[bad]:.4f}; inner-product search needs unit-length "
            "vectors. Normalise them (x / np.linalg.norm(x, axis=1, keepdims=True))."
        )
    return arr


def check_rows(rows: Any, row_slot: np.ndarray, what: str, *, allow_deleted: bool = False, unique: bool = True) -> np.ndarray:
    """Row ids to ``what`` (delete, upsert) as int64, checked against ``row_slot`` (each row's slot, -1: deleted).

    Raises:
        InputError: what isn't integer row ids, an unknown row, a duplicated one (when ``unique``), or (unless
            ``allow_deleted``) a deleted one.
    """
    ids = check_row_ids(rows, int(row_slot.shape[0]), what, unique=unique)
    if not allow_deleted:
        gone = ids[row_slot[ids] < 0]
        if gone.size:
            raise InputError(f"Cannot {what} row {int(gone[0])}: it is already deleted.")
    return ids
