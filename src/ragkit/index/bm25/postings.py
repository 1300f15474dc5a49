"""Term-major postings (CSC layout) as plain arrays, with vectorised build, merge and removal.

For term ``t`` the postings are ``rows[indptr[t]:indptr[t+1]]`` (ascending) with term
frequencies ``tf[...]``. Every operation here is a handful of numpy calls over the whole
arrays: no Python loop per document or per term.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Postings", "build_postings", "gather"]


@dataclass(frozen=True, slots=True)
class Postings:
    """Immutable postings: updates return new arrays, so readers of the old ones are unaffected."""

    indptr: np.ndarray  # (V+1,) int64
    rows: np.ndarray  # (nnz,) int32
    tf: np.ndarray  # (nnz,) int32

    @property
    def n_terms(self) -> int:
        return int(self.indptr.shape[0] - 1)

    @property
    def nnz(self) -> int:
        return int(self.rows.shape[0])

    def df(self) -> np.ndarray:
        return np.diff(self.indptr)

    def append(self, block: Postings) -> Postings:
        """Postings of rows added after every existing row (``block`` may know more terms).

        Each new posting is inserted at the end of its term's run, which keeps rows ascending
        within a term: one ``np.insert`` per array, O(nnz).
        """
        n_terms = max(self.n_terms, block.n_terms)
        old_ends = np.full(n_terms, self.nnz, dtype=np.int64)
        old_ends[: self.n_terms] = self.indptr[1:]
        positions = np.repeat(old_ends[: block.n_terms], block.df())
        counts = np.zeros(n_terms, dtype=np.int64)
        counts[: self.n_terms] += self.df()
        counts[: block.n_terms] += block.df()
        indptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return Postings(indptr, np.insert(self.rows, positions, block.rows), np.insert(self.tf, positions, block.tf))

    def without_rows(self, dead: np.ndarray) -> tuple[Postings, np.ndarray]:
        """Drop every posting whose row is flagged in the boolean array ``dead``.

        Returns the new postings and, per term, how many postings were removed.
        """
        drop = dead[self.rows]
        if not drop.any():
            return self, np.zeros(self.n_terms, dtype=np.int64)
        dropped_at = np.flatnonzero(drop)
        terms = np.searchsorted(self.indptr, dropped_at, side="right") - 1
        removed = np.bincount(terms, minlength=self.n_terms).astype(np.int64)
        indptr = self.indptr.copy()
        indptr[1:] -= np.cumsum(removed)
        keep = ~drop
        return Postings(indptr, self.rows[keep], self.tf[keep]), removed


def build_postings(term_ids: np.ndarray, lengths: np.ndarray, n_terms: int, first_row: int = 0) -> Postings:
    """Postings for consecutive rows ``first_row...`` whose term ids are concatenated in ``term_ids``.

    ``lengths[i]`` is how many of ``term_ids`` belong to row ``first_row + i``.
    """
    n_rows = int(lengths.shape[0])
    local = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
    # one sort of (term, row) keys yields postings in term-major order with their counts
    keys, tf = np.unique(term_ids.astype(np.int64) * max(n_rows, 1) + local, return_counts=True)
    terms = keys // max(n_rows, 1)
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(np.bincount(terms, minlength=n_terms), out=indptr[1:])
    rows = (keys % max(n_rows, 1) + first_row).astype(np.int32)
    return Postings(indptr, rows, tf.astype(np.int32))


def gather(postings: Postings, term_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat posting positions of ``term_ids`` (duplicates repeated) and each position's term slot.

    The second array tells which entry of ``term_ids`` a position came from.
    """
    starts = postings.indptr[term_ids]
    lengths = postings.indptr[term_ids + 1] - starts
    total = int(lengths.sum())
    slot = np.repeat(np.arange(term_ids.shape[0]), lengths)
    positions = np.arange(total, dtype=np.int64) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return positions, slot
