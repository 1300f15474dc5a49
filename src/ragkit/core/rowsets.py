"""Sets of row ids held as int arrays: numpy's set routines for the query path, without numpy.ma.

``np.unique`` (and ``np.setdiff1d`` / ``np.isin``, which call it) imports numpy.ma the first time it
runs without ``return_index``/``return_inverse``/``return_counts``: milliseconds that a fresh process's
first query would pay. These sort-based versions give the same results.
"""

from __future__ import annotations

import numpy as np

__all__ = ["difference", "has_duplicates"]


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
