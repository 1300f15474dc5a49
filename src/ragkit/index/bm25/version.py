"""One immutable version of a BM25 index and the scoring arrays derived from it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from ragkit.core.errors import CorruptIndexError, InputError
from ragkit.core.rowsets import check_row_ids
from ragkit.index.bm25.config import BM25Config
from ragkit.index.bm25.postings import NO_DENSE_ROWS, Postings, dense_rows, read_only
from ragkit.index.bm25.scoring import posting_weights
from ragkit.index.bm25.stats import CorpusStats

__all__ = ["POSTINGS_FILE", "IndexVersion"]

#: The postings file, named in errors about postings that point outside the rows.
POSTINGS_FILE = "bm25_postings.arrow"


@dataclass(frozen=True, slots=True)
class IndexVersion:
    """One immutable version of the index; a query works on the version it started with.

    Scoring arrays are derived once per version: the per-posting weights for the
    version's own statistics, and the same for at most one external
    :class:`~ragkit.index.bm25.stats.CorpusStats` (identified by object identity; a
    query with other statistics replaces that entry).
    """

    postings: Postings
    doc_len: np.ndarray  # (n_rows,) int32, 0 for deleted rows
    alive: np.ndarray  # (n_rows,) bool
    n_alive: int
    total_len: int
    idf: np.ndarray  # (n_terms,) float64, for the version's own statistics
    cache: dict[str, Any] = field(default_factory=dict)  # derived arrays, built once per version

    @property
    def n_rows(self) -> int:
        return int(self.doc_len.shape[0])

    def term_scoring(self, config: BM25Config, stats: CorpusStats | None = None,
                     terms: Callable[[], pa.Array] | None = None) -> tuple[np.ndarray, float]:
        """Each term's IDF and the average row length, for the own statistics (``stats=None``) or ``stats``.

        ``terms`` gives the version's term strings (needed once per external ``stats``, to
        map each local term to its corpus-wide IDF; kept for at most one ``stats`` object).
        """
        if stats is None:
            return self.idf, (self.total_len / self.n_alive if self.n_alive else 0.0)
        entry: dict[str, Any] | None = self.cache.get("external_idf")
        if entry is None or entry["stats"] is not stats:
            if terms is None:
                raise ValueError("scoring with external statistics needs the version's terms")
            entry = {"stats": stats, "idf": stats.term_idf(terms(), config.variant, config.epsilon)}
            self.cache["external_idf"] = entry  # at most one external entry: a new one replaces it
        return entry["idf"], stats.avgdl

    def scoring(self, config: BM25Config, stats: CorpusStats | None = None,
                terms: Callable[[], pa.Array] | None = None) -> dict[str, Any]:
        """The derived arrays for the own statistics (``stats=None``) or for ``stats``: a dict holding ``"weights"``
        and ``"dense"`` (:func:`~ragkit.index.bm25.postings.dense_rows`; none for Okapi).

        Derived once per version and statistics (at most one external ``stats`` object at a time).
        """
        key = "own" if stats is None else "external"
        entry: dict[str, Any] | None = self.cache.get(key)
        if entry is None or entry.get("stats") is not stats:
            term_idf, avgdl = self.term_scoring(config, stats, terms)
            weights = read_only(self._posting_weights(config, term_idf, avgdl))
            dense = NO_DENSE_ROWS if config.variant == "okapi" else dense_rows(self.postings, weights, self.n_rows)
            entry = {"stats": stats, "weights": weights, "dense": dense}
            self.cache[key] = entry  # a new external entry replaces the old one
        return entry

    def rows_to_delete(self, ids: np.ndarray) -> np.ndarray:
        """A boolean mask of the rows ``ids`` (each once, each live).

        Raises:
            InputError: a row that does not exist, is given twice, or is already deleted.
        """
        ids = check_row_ids(ids, self.n_rows, "delete")
        gone = ids[~self.alive[ids]]
        if gone.size:
            raise InputError(f"Cannot delete row {int(gone[0])}: it is already deleted.")
        dead = np.zeros(self.n_rows, dtype=bool)
        dead[ids] = True
        return dead

    def check_rows(self, owner: str, rows: list[np.ndarray]) -> None:
        """Raise :class:`InputError` naming ``owner`` for the first row that is not a row of this version."""
        for r in rows:
            if r.size and (r.min() < 0 or r.max() >= self.n_rows):
                raise InputError(f"{owner}: row {int(r[(r < 0) | (r >= self.n_rows)][0])} does not exist "
                                 f"(the index has rows 0..{self.n_rows - 1}).")

    def cached_weights(self, stats: CorpusStats | None) -> np.ndarray | None:
        """The per-posting weights for ``stats`` if already derived (by :meth:`scoring`), else None."""
        entry: dict[str, Any] | None = self.cache.get("own" if stats is None else "external")
        return None if entry is None or entry.get("stats") is not stats else entry["weights"]

    def weights(self, config: BM25Config, stats: CorpusStats | None = None,
                terms: Callable[[], pa.Array] | None = None) -> np.ndarray:
        """idf * saturated tf of every posting (float64), computed once per version and statistics (O(postings))."""
        return self.scoring(config, stats, terms)["weights"]  # type: ignore[no-any-return]

    def _posting_weights(self, config: BM25Config, term_idf: np.ndarray, avgdl: float) -> np.ndarray:
        p = self.postings
        weights, bad = posting_weights(config.variant, p.indptr, p.rows, p.tf, self.doc_len, avgdl, term_idf,
                                       config.k1, config.b, config.delta)
        if bad >= 0:
            raise CorruptIndexError(f"{POSTINGS_FILE}: posting {bad} points outside the {self.n_rows} rows.")
        return weights
