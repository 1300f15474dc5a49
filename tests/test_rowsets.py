"""Row-id set routines (core.rowsets) against numpy's own."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ragkit.core.rowsets import difference, has_duplicates

ROWS = arrays(np.int64, st.integers(0, 30), elements=st.integers(-5, 25))


@settings(max_examples=300, deadline=None)
@given(ROWS, ROWS)
def test_difference_is_setdiff1d(rows: np.ndarray, exclude: np.ndarray) -> None:
    got, want = difference(rows, exclude), np.setdiff1d(rows, exclude)
    assert got.dtype == want.dtype and got.tolist() == want.tolist()


@settings(max_examples=300, deadline=None)
@given(ROWS)
def test_has_duplicates(rows: np.ndarray) -> None:
    assert has_duplicates(rows) == (np.unique(rows).size != rows.size)
