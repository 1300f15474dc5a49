"""Corpus-wide BM25 statistics: what a part of a corpus needs to score as the whole corpus.

A corpus split into parts (shards) scores exactly as one index over the whole corpus
when every part is searched with the statistics of the whole: each term's document
frequency, the number of live rows and their summed length. Each part's
:meth:`~ragkit.index.bm25.BM25Index.statistics` covers its own live rows; the parts'
statistics :meth:`~CorpusStats.merge` into the corpus-wide ones, which
``BM25Index.search_rows(..., stats=...)`` takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ragkit.core.arrow_io import to_numpy
from ragkit.core.errors import CorruptIndexError, InputError
from ragkit.index.bm25.scoring import idf

__all__ = ["CorpusStats"]


@dataclass(frozen=True, eq=False)
class CorpusStats:
    """Document frequency of every term over a whole corpus, its live row count and total length.

    ``terms`` (strings, unique) and ``df`` (int64, ``df[i]`` live rows hold ``terms[i]``) are
    aligned; ``n_docs`` counts the live rows of the whole corpus, ``total_len`` sums their
    token lengths. Instances are immutable and compared by identity (an index caches the
    weights it derives for a statistics object; pass the same object to reuse them).

    Example:
        >>> a = BM25Index().build(["cats purr", "dogs bark"])                   # doctest: +SKIP
        >>> b = BM25Index().build(["cats and dogs"])                            # doctest: +SKIP
        >>> whole = a.statistics().merge(b.statistics())                        # doctest: +SKIP
        >>> a.search_rows(["cats"], k=5, stats=whole)                           # doctest: +SKIP

    Raises:
        InputError: ``terms`` and ``df`` of different lengths, or negative counts.
    """

    terms: pa.Array
    df: np.ndarray
    n_docs: int
    total_len: int

    def __post_init__(self) -> None:
        terms = self.terms.combine_chunks() if isinstance(self.terms, pa.ChunkedArray) else self.terms
        if not isinstance(terms, pa.Array):
            terms = pa.array(terms, type=pa.string())
        if not pa.types.is_string(terms.type):
            terms = terms.cast(pa.string())
        df = np.asarray(self.df, dtype=np.int64).ravel()
        if df.shape[0] != len(terms):
            raise InputError(f"CorpusStats: {len(terms)} terms but {df.shape[0]} document frequencies.")
        if int(self.n_docs) < 0 or int(self.total_len) < 0:
            raise InputError(f"CorpusStats: n_docs ({self.n_docs}) and total_len ({self.total_len}) must be >= 0.")
        object.__setattr__(self, "terms", terms)
        object.__setattr__(self, "df", df)
        object.__setattr__(self, "n_docs", int(self.n_docs))
        object.__setattr__(self, "total_len", int(self.total_len))

    @classmethod
    def empty(cls) -> CorpusStats:
        """The statistics of no rows (the neutral element of :meth:`merge`)."""
        return cls(pa.array([], type=pa.string()), np.empty(0, dtype=np.int64), 0, 0)

    @property
    def avgdl(self) -> float:
        """Average token length of a live row (0 without rows)."""
        return self.total_len / self.n_docs if self.n_docs else 0.0

    def merge(self, other: CorpusStats) -> CorpusStats:
        """The statistics of the union of two disjoint row sets: document frequencies, rows and lengths add up.

        Terms keep their order of first appearance (``self``'s, then ``other``'s new ones), so
        merging the parts of a corpus in row order lists the terms as one index over the
        whole corpus does, and Okapi's IDF floor (a mean over the terms) comes out bit-identical.

        Raises:
            InputError: ``other`` is not a :class:`CorpusStats`.
        """
        if not isinstance(other, CorpusStats):
            raise InputError(f"CorpusStats.merge expects a CorpusStats, got {type(other).__name__}.")
        return CorpusStats.combine([self, other])

    @classmethod
    def combine(cls, parts: Sequence[CorpusStats]) -> CorpusStats:
        """The statistics of the union of disjoint row sets, in one pass (the same as merging them in order).

        Vectorised: the terms of every part are dictionary-encoded at once (codes in order of
        first appearance) and the document frequencies summed per code with one ``bincount``.

        Raises:
            InputError: a part that is not a :class:`CorpusStats`.
        """
        parts = list(parts)
        for part in parts:
            if not isinstance(part, CorpusStats):
                raise InputError(f"CorpusStats.combine expects a sequence of CorpusStats, got a {type(part).__name__}.")
        if not parts:
            return cls.empty()
        n_docs, total_len = sum(p.n_docs for p in parts), sum(p.total_len for p in parts)
        terms = pa.concat_arrays([p.terms for p in parts])
        if len(terms) == 0:
            return cls(terms, np.empty(0, dtype=np.int64), n_docs, total_len)
        encoded = pc.dictionary_encode(terms)
        codes = to_numpy(encoded.indices).astype(np.int64, copy=False)
        # float64 sums are exact for counts below 2**53
        df = np.bincount(codes, weights=np.concatenate([p.df for p in parts]), minlength=len(encoded.dictionary))
        return cls(encoded.dictionary, df.astype(np.int64), n_docs, total_len)

    def to_table(self) -> pa.Table:
        """Columns ``term`` (string) and ``df`` (int64), for persistence (``n_docs`` / ``total_len`` are kept apart)."""
        return pa.table({"term": self.terms, "df": pa.array(self.df, type=pa.int64())})

    @classmethod
    def from_table(cls, table: pa.Table, n_docs: int, total_len: int) -> CorpusStats:
        """Statistics from a :meth:`to_table` table and the saved row count and total length.

        Raises:
            CorruptIndexError: a missing or mistyped column, null or duplicated terms, a negative
                count, or a document frequency above ``n_docs``.
        """
        try:
            terms = table.column("term").combine_chunks().cast(pa.string())
            df_column = table.column("df").combine_chunks()
            if not pa.types.is_integer(df_column.type):
                raise TypeError(f"'df' has type {df_column.type}, not an integer type")
            n_docs, total_len = _count(n_docs, "n_docs"), _count(total_len, "total_len")
        except (KeyError, TypeError, ValueError, pa.ArrowException) as exc:
            raise CorruptIndexError(f"BM25 corpus statistics: malformed table ({exc}).") from exc
        if terms.null_count or df_column.null_count:
            raise CorruptIndexError("BM25 corpus statistics: null terms or document frequencies.")
        df = to_numpy(df_column).astype(np.int64)
        if len(terms) and pc.count_distinct(terms).as_py() != len(terms):
            raise CorruptIndexError("BM25 corpus statistics: a term is listed twice.")
        if df.size and (int(df.min()) < 0 or int(df.max()) > n_docs):
            raise CorruptIndexError(f"BM25 corpus statistics: document frequencies must lie in 0..{n_docs} (n_docs).")
        return cls(terms, df, n_docs, total_len)

    def term_idf(self, terms: pa.Array, variant: str, epsilon: float) -> np.ndarray:
        """The ``variant``'s IDF of each of ``terms`` under these statistics (float64).

        The IDF array is computed over every term of the statistics exactly as
        :func:`~ragkit.index.bm25.scoring.idf` computes it for one index (Okapi's floor uses
        the mean over the whole corpus), then looked up per term; a term these statistics
        do not know gets IDF 0, so it adds nothing to any score.
        """
        values = idf(variant, self.df, self.n_docs, epsilon)
        found, positions = _lookup(terms, self.terms)
        out = np.zeros(len(terms), dtype=np.float64)
        out[found] = values[positions[found]]
        return out


def _lookup(terms: pa.Array, value_set: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``terms``: whether it is in ``value_set``, and its position there (0 where not)."""
    if len(terms) == 0 or len(value_set) == 0:
        return np.zeros(len(terms), dtype=bool), np.zeros(len(terms), dtype=np.int64)
    positions = pc.index_in(terms, value_set=value_set)
    found = to_numpy(positions.is_valid())
    return found, to_numpy(positions, fill=0).astype(np.int64)


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)
