"""Term-major postings (CSC layout) as plain arrays, with vectorised build, merge and removal;
the byte buffers of Arrow string arrays (terms as compiled code reads them).

For term ``t`` the postings are ``rows[indptr[t]:indptr[t+1]]`` (ascending) with term
frequencies ``tf[...]``. Every operation here is a handful of numpy calls over the whole
arrays: no Python loop per document or per term.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ragkit.core.errors import CorruptIndexError

__all__ = ["DENSE_MAX_ROWS", "DENSE_TERM_SHARE", "NO_DENSE_ROWS", "Postings", "build_postings", "dense_rows", "group_postings", "read_only",
           "utf8_buffers"]


@dataclass(frozen=True, slots=True)
class Postings:
    """Immutable postings: updates return new arrays, so readers of the old ones are unaffected.

    The arrays are made read-only (as those memory-mapped from a file are), so the compiled
    kernels see one kind of array whether the index was built or opened: one machine-code
    specialisation, compiled or loaded once.
    """

    indptr: np.ndarray  # (V+1,) int64
    rows: np.ndarray  # (nnz,) int32
    tf: np.ndarray  # (nnz,) int32

    def __post_init__(self) -> None:
        for values in (self.indptr, self.rows, self.tf):
            read_only(values)

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


def group_postings(postings: Postings, groups: np.ndarray, n_groups: int) -> Postings:
    """Postings whose rows are groups of rows (a document's chunks): ``groups[row]`` names each row's
    group, and a group's term frequency is the sum over its rows. When groups number the rows in order (each
    group's rows consecutive, as chunks added document by document), equal neighbours merge without a sort;
    otherwise one sort of (term, group) keys.
    """
    if n_groups == groups.shape[0] and bool((groups == np.arange(n_groups)).all()):
        return postings  # each row its own group (documents of one chunk): the same postings, shared (read-only)
    if postings.nnz and (int(postings.rows.min()) < 0 or int(postings.rows.max()) >= groups.shape[0]):
        raise CorruptIndexError("BM25 postings point outside the index's rows; the postings file is corrupt.")
    terms = np.repeat(np.arange(postings.n_terms, dtype=np.int64), postings.df())
    owner = groups[postings.rows].astype(np.int64)
    keys = terms * max(int(n_groups), 1) + owner
    if keys.size < 2 or bool((keys[1:] >= keys[:-1]).all()):
        # already in (term, group) order, as when each group's rows are consecutive and groups number in row order
        # (chunks added document by document): equal neighbours merge, no sort
        first = np.ones(keys.shape[0], dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        return _merge_runs(terms, owner, first, postings.n_terms, postings.tf)
    width = max(int(n_groups), 1)
    keys, inverse = np.unique(keys, return_inverse=True)
    tf = np.bincount(inverse.ravel(), weights=postings.tf, minlength=keys.shape[0])
    indptr = np.zeros(postings.n_terms + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // width, minlength=postings.n_terms), out=indptr[1:])
    return Postings(indptr, (keys % width).astype(np.int32), tf.astype(np.int32))


def build_postings(term_ids: np.ndarray, lengths: np.ndarray, n_terms: int, first_row: int = 0) -> Postings:
    """Postings for consecutive rows ``first_row...`` whose term ids are concatenated in ``term_ids``.

    ``lengths[i]`` is how many of ``term_ids`` belong to row ``first_row + i``.
    """
    n_rows = int(lengths.shape[0])
    local = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
    if 0 < n_terms <= 1 << 16 and term_ids.size:
        # a stable sort by term (a radix sort of 16-bit keys) keeps each term's rows ascending; equal
        # neighbours are one posting, their count its term frequency
        order = np.argsort(term_ids.astype(np.uint16), kind="stable")
        terms, rows = term_ids[order].astype(np.int64), local[order]
        first = np.ones(order.shape[0], dtype=bool)
        first[1:] = (terms[1:] != terms[:-1]) | (rows[1:] != rows[:-1])
        return _merge_runs(terms, rows + first_row, first, n_terms, None)
    # one sort of (term, row) keys yields postings in term-major order with their counts
    keys, tf = np.unique(term_ids.astype(np.int64) * max(n_rows, 1) + local, return_counts=True)
    terms = keys // max(n_rows, 1)
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(np.bincount(terms, minlength=n_terms), out=indptr[1:])
    rows = (keys % max(n_rows, 1) + first_row).astype(np.int32)
    return Postings(indptr, rows, tf.astype(np.int32))


def _merge_runs(terms: np.ndarray, rows: np.ndarray, first: np.ndarray, n_terms: int, tf: np.ndarray | None) -> Postings:
    """Postings from entries in (term, row) order: each run of equal entries (``first`` flags where one starts) is one
    posting, its term frequency the run's length (``tf`` None) or the sum of its entries' ``tf``."""
    starts = np.flatnonzero(first)
    if tf is None:
        counts = np.diff(np.append(starts, first.shape[0]))
    else:
        counts = tf if starts.size == first.shape[0] else np.add.reduceat(tf.astype(np.int64), starts)
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(np.bincount(terms[starts], minlength=n_terms), out=indptr[1:])
    return Postings(indptr, rows[starts].astype(np.int32), np.asarray(counts, dtype=np.int32))


#: A term in at least this share of the rows also gets its weights as a dense row (see :func:`dense_rows`).
DENSE_TERM_SHARE = 0.25
#: Dense rows only for an index of at most this many rows: its scores (8 bytes a row) stay in the core's own cache,
#: where a vectorised pass is fast; past it, streaming the rows costs more than the scattered adds (measured at 1M).
DENSE_MAX_ROWS = 1 << 15


def dense_rows(postings: Postings, weights: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The posting ``weights`` of the most common terms laid out as dense rows, for the compiled scan.

    A term in at least :data:`DENSE_TERM_SHARE` of the ``n_rows`` rows gets a row of ``n_rows``
    weights (0 where it does not occur), most frequent first, while they take no more memory than
    ``weights`` itself, in an index of at most :data:`DENSE_MAX_ROWS` rows. Adding a dense row is
    one vectorised pass where scattering the postings is one dependent store each (~15% of a
    query on SciFact), and gives the same sums: a row without the term adds 0. Returns each
    term's dense row (-1: none; int64, one per term) and the rows (float64, ``(n_dense,
    n_rows)``), both read-only.
    """
    df = postings.df()
    common = np.flatnonzero(df >= max(1.0, DENSE_TERM_SHARE * n_rows))
    budget = weights.shape[0] // max(n_rows, 1) if n_rows <= DENSE_MAX_ROWS else 0
    common = common[np.argsort(-df[common], kind="stable")][:budget]
    slot = np.full(df.shape[0], -1, dtype=np.int64)
    slot[common] = np.arange(common.shape[0], dtype=np.int64)
    out = np.zeros((common.shape[0], max(n_rows, 1)), dtype=np.float64)
    lengths = df[common]
    if lengths.sum():  # the postings of those terms only: each term's range, concatenated
        ends = np.cumsum(lengths)
        at = np.arange(ends[-1], dtype=np.int64) + np.repeat(postings.indptr[common] - (ends - lengths), lengths)
        out[np.repeat(np.arange(common.shape[0]), lengths), postings.rows[at]] = weights[at]
    return read_only(slot), read_only(out)


#: No dense rows (Okapi, whose scan must see which rows hold a term, or nothing to lay out).
NO_DENSE_ROWS = (np.full(0, -1, dtype=np.int64), np.zeros((0, 1), dtype=np.float64))
for _array in NO_DENSE_ROWS:
    _array.flags.writeable = False


def read_only(values: np.ndarray) -> np.ndarray:
    """``values``, no longer writable (arrays a version derives once are shared; see :class:`Postings`)."""
    values.flags.writeable = False
    return values


def utf8_buffers(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The offsets (int64, ``len + 1``) and UTF-8 bytes (uint8) of an Arrow string array, without copying the bytes.

    String ``i`` is ``data[offsets[i]:offsets[i + 1]]`` (a sliced array keeps its parent's offsets).
    """
    if pa.types.is_large_string(strings.type):
        offset_type = np.int64
    elif pa.types.is_string(strings.type):
        offset_type = np.int32
    else:
        raise TypeError(f"expected an Arrow string array, got {strings.type}")
    _, offset_buffer, data_buffer = strings.buffers()
    if offset_buffer is None:  # an empty array may have no buffers
        return np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.uint8)
    start = strings.offset
    offsets = np.frombuffer(offset_buffer, dtype=offset_type)[start:start + len(strings) + 1].astype(np.int64)
    data = np.zeros(0, dtype=np.uint8) if data_buffer is None else np.frombuffer(data_buffer, dtype=np.uint8)
    return offsets, data
