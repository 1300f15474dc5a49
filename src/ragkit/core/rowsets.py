"""Sets of row ids held as int arrays: numpy's set routines for the query path, without numpy.ma; the check of
a boolean row mask (``allowed``) that every index's ``search_rows`` takes; and the check of the row ids that
``delete``, ``upsert`` and ``row_vectors`` take.

``np.unique`` (and ``np.setdiff1d`` / ``np.isin``, which call it) imports numpy.ma the first time it
runs without ``return_index``/``return_inverse``/``return_counts``: milliseconds that a fresh process's
first query would pay. These sort-based versions give the same results.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ragkit.core.errors import InputError

__all__ = ["as_row_ids", "check_mask", "check_row_ids", "difference", "has_duplicates"]


def check_mask(allowed: Any, n_rows: int) -> np.ndarray | None:
    """``allowed`` when it is ``None`` or a numpy bool array with one flag per row (``n_rows``).

    Raises:
        InputError: anything else (a list, an int array, which would index rows instead of flagging them, a wrong shape).
    """
    if allowed is None:
        return None
    if not isinstance(allowed, np.ndarray) or allowed.dtype != np.bool_:
        kind = f"a {allowed.dtype} array" if isinstance(allowed, np.ndarray) else f"a {type(allowed).__name__}"
        raise InputError(f"The allowed mask must be a numpy bool array of shape ({n_rows},), one flag per row. Got {kind}.")
    if allowed.shape != (n_rows,):
        raise InputError(f"allowed mask has shape {allowed.shape}, expected ({n_rows},).")
    return allowed


#: What a non-integer array of row ids holds, by numpy dtype kind, for the error message.
_KINDS = {"b": "bools (a mask? pass np.flatnonzero(mask))", "f": "floats", "c": "complex numbers", "U": "strings",
          "S": "bytes", "O": "Python objects (None, ints beyond int64, mixed types)", "M": "datetimes", "m": "timedeltas"}


def as_row_ids(rows: Any, what: str) -> np.ndarray:
    """``rows`` (an int, a sequence or an array of ints, any shape) as a flat int64 array of row ids to ``what``.

    Floats are refused rather than truncated (row 1.5 is no row) and bools rather than read as rows 0 and 1.

    Raises:
        InputError: anything that is not integers (strings, floats, bools, ``None``, ragged lists, ints beyond int64).
    """
    try:
        arr = np.asarray(rows)
    except (TypeError, ValueError) as exc:  # ragged nesting, objects numpy cannot hold
        raise InputError(f"Rows to {what} must be integer row ids; got a {type(rows).__name__} numpy cannot read "
                         f"as an array ({exc}).") from None
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        held = _KINDS.get(arr.dtype.kind, f"{arr.dtype} values")
        raise InputError(f"Rows to {what} must be integer row ids; got {held} (in a {type(rows).__name__}).")
    if arr.dtype == np.uint64 and int(arr.max()) > np.iinfo(np.int64).max:
        raise InputError(f"Rows to {what} must be integer row ids; got {int(arr.max())}, beyond int64.")
    return arr.astype(np.int64, copy=False).ravel()


def check_row_ids(rows: Any, n_rows: int, what: str, *, unique: bool = True) -> np.ndarray:
    """:func:`as_row_ids`, each in ``0..n_rows-1`` and (when ``unique``) none given twice.

    Raises:
        InputError: what :func:`as_row_ids` refuses, a row outside the index, or a duplicate.
    """
    ids = as_row_ids(rows, what)
    bad = ids[(ids < 0) | (ids >= n_rows)]
    if bad.size:
        raise InputError(f"Cannot {what} row {int(bad[0])}: the index has rows 0..{n_rows - 1}.")
    if unique and has_duplicates(ids):
        raise InputError(f"Rows to {what} contain duplicates.")
    return ids


def has_duplicates(ids: np.ndarray) -> bool:
    """Whether some value occurs twice in the 1-d array ``ids``."""
    ordered = np.sort(ids)
    return bool((ordered[1:] == ordered[:-1]).any())


def difference(rows: np.ndarray, exclude: np.ndarray) -> np.ndarray:
    """The distinct values of ``rows`` not in ``exclude``, ascending (what ``np.setdiff1d(rows, exclude)`` returns)."""
    rows, exclude = np.sort(rows), np.sort(exclude)
    keep = np.ones(rows.shape[0], dtype=bool)
    keep[1:] = rows[1:] != rows[:-1]
    if exclude.size:
        at = np.minimum(np.searchsorted(exclude, rows), exclude.shape[0] - 1)
        keep &= exclude[at] != rows
    return rows[keep]
