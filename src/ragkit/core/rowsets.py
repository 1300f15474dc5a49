"""Sets of row ids held as int arrays: numpy's set routines for the query path, without numpy.ma; and the check of
a boolean row mask (``allowed``) that every index's ``search_rows`` takes.

``np.unique`` (and ``np.setdiff1d`` / ``np.isin``, which call it) imports numpy.ma the first time it
runs without ``return_index``/``return_inverse``/``return_counts``: milliseconds that a fresh process's
first query would pay. These sort-based versions give the same results.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ragkit.core.errors import InputError

__all__ = ["check_mask", "difference", "has_duplicates"]


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
