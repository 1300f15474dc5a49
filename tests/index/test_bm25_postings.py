"""Postings built from term ids, and grouped (document-level BM25 from chunk rows): every path against a dense reference."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ragkit.index.bm25.postings import Postings, build_postings, group_postings


def _dense(postings: Postings, n_rows: int) -> np.ndarray:
    """(terms, rows) term-frequency matrix."""
    out = np.zeros((postings.n_terms, n_rows), dtype=np.int64)
    for t in range(postings.n_terms):
        span = slice(postings.indptr[t], postings.indptr[t + 1])
        out[t, postings.rows[span]] += postings.tf[span]
    return out


def _check(postings: Postings, groups: np.ndarray, n_groups: int) -> None:
    got = group_postings(postings, groups, n_groups)
    expected = np.zeros((postings.n_terms, n_groups), dtype=np.int64)
    np.add.at(expected.T, groups, _dense(postings, groups.shape[0]).T)
    assert got.indptr.shape == (postings.n_terms + 1,) and got.rows.dtype == np.int32 and got.tf.dtype == np.int32
    assert np.array_equal(_dense(got, n_groups), expected)
    for t in range(got.n_terms):  # rows ascending within each term, no zero or repeated posting
        rows = got.rows[got.indptr[t]:got.indptr[t + 1]]
        assert np.all(np.diff(rows) > 0)
    assert np.all(got.tf > 0)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.integers(1, 12), st.sampled_from(["identity", "in order", "shuffled"]))
def test_grouping_matches_summing_the_dense_matrix(seed: int, n_rows: int, n_terms: int, kind: str) -> None:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 8, n_rows)
    postings = build_postings(rng.integers(0, n_terms, int(lengths.sum())), lengths, n_terms)
    if kind == "identity":
        groups, n_groups = np.arange(n_rows), n_rows
    else:
        groups = np.sort(rng.integers(0, max(1, n_rows // 2), n_rows))  # consecutive rows per group, in row order
        if kind == "shuffled":
            groups = rng.permutation(groups)
        groups = np.unique(groups, return_inverse=True)[1].ravel()
        n_groups = int(groups.max()) + 1
    _check(postings, groups, n_groups)


def test_identity_grouping_shares_the_postings() -> None:
    postings = build_postings(np.array([0, 1, 1, 2]), np.array([2, 2]), 3)
    assert group_postings(postings, np.arange(2), 2) is postings
    _check(postings, np.array([0, 0]), 1)  # one group of both rows: merged postings
    _check(postings, np.array([1, 0]), 2)  # rows swapped: the sorting path


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 30), st.sampled_from([1, 3, 50, 1 << 16, (1 << 16) + 1, 200_000]),
       st.integers(0, 5))
def test_built_postings_are_the_dense_counts(seed: int, n_rows: int, n_terms: int, first_row: int) -> None:
    """Both ways of building (the 16-bit radix sort of term ids, and the sort of (term, row) keys past 65,536 terms)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 9, n_rows)
    ids = rng.integers(0, min(n_terms, 12), int(lengths.sum())) * max(1, n_terms // 12)  # spread over the vocabulary
    ids = np.minimum(ids, n_terms - 1)
    got = build_postings(ids, lengths, n_terms, first_row=first_row)
    expected = np.zeros((n_terms, first_row + n_rows), dtype=np.int64)
    np.add.at(expected, (ids, np.repeat(np.arange(n_rows), lengths) + first_row), 1)
    assert got.indptr.shape == (n_terms + 1,) and got.rows.dtype == np.int32 and got.tf.dtype == np.int32
    nz_terms, nz_rows = np.nonzero(expected)
    assert got.rows.tolist() == nz_rows.tolist() and got.tf.tolist() == expected[nz_terms, nz_rows].tolist()
    assert np.array_equal(np.diff(got.indptr), np.bincount(nz_terms, minlength=n_terms))
