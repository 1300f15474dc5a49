"""BM25 variants as vectorised formulas over postings.

Each variant is two functions of corpus statistics: an IDF per term (here, vectorised)
and a saturated term-frequency weight per posting: compiled over every posting of a
version (``kernels.tf_weight``), or vectorised over the postings one batch of queries
touches (:func:`tf_weights`, the same formulas in the same order, so the same floats).
Weights are derived per index version from stored term frequencies, so they always
reflect the current corpus.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["Variant", "VARIANTS", "idf", "length_norm", "posting_weights", "tf_weights"]

Variant = Literal["lucene", "okapi", "bm25+", "bm25l"]
VARIANTS: tuple[str, ...] = ("lucene", "okapi", "bm25+", "bm25l")


def idf(variant: str, df: np.ndarray, n_docs: int, epsilon: float = 0.25) -> np.ndarray:
    """IDF of each term (float64) given its document frequency ``df``.

    ``okapi`` reproduces rank-bm25's ``BM25Okapi`` exactly, including its floor: terms
    whose IDF is negative (present in more than half of the documents) get
    ``epsilon * mean(idf)``, the mean taken over every term with ``df > 0``.
    """
    df = df.astype(np.float64, copy=False)
    n = float(n_docs)
    if variant == "lucene":
        return np.log1p((n - df + 0.5) / (df + 0.5))
    if variant == "okapi":
        present = df > 0
        values = np.log(n - df + 0.5) - np.log(df + 0.5)
        values[~present] = 0.0
        count = int(present.sum())
        mean = float(values[present].sum() / count) if count else 0.0
        values[present & (values < 0)] = epsilon * mean
        return values
    if variant == "bm25+":
        with np.errstate(divide="ignore"):
            values = np.log((n + 1.0) / df)
        values[df == 0] = 0.0
        return values
    if variant == "bm25l":
        return np.log((n + 1.0) / (df + 0.5))
    raise ValueError(f"unknown BM25 variant {variant!r}")


def posting_weights(variant: str, indptr: np.ndarray, rows: np.ndarray, tf: np.ndarray, doc_len: np.ndarray,
                    avgdl: float, term_idf: np.ndarray, k1: float, b: float, delta: float) -> tuple[np.ndarray, int]:
    """IDF times saturated term frequency of every posting (float64), and the first posting
    whose row lies outside ``doc_len`` (-1 when none: a corrupt postings file otherwise).

    Postings are term-major (``indptr``, ``rows``, ``tf``, see
    :class:`~ragkit.index.bm25.postings.Postings`); ``term_idf`` has one entry per term. The
    length normalisation ``1 - b + b * length / avgdl`` is computed once per row, the
    per-posting formula (:func:`ragkit.index.bm25.kernels.tf_weight`) in one compiled pass.
    """
    from ragkit.index.bm25 import kernels

    if variant not in kernels.VARIANT_CODES:
        raise ValueError(f"unknown BM25 variant {variant!r}")
    norm = length_norm(doc_len, avgdl, b)
    term_idf = np.ascontiguousarray(term_idf, dtype=np.float64)
    weights, bad = kernels.posting_weights(kernels.VARIANT_CODES[variant], indptr, rows, tf, norm, term_idf,
                                           float(k1), float(delta))
    return weights, int(bad)


def length_norm(doc_len: np.ndarray, avgdl: float, b: float) -> np.ndarray:
    """BM25's length normalisation ``1 - b + b * length / avgdl`` of each row (1 when ``avgdl`` is 0)."""
    if avgdl > 0:
        return 1.0 - b + b * (doc_len.astype(np.float64, copy=False) / avgdl)
    return np.ones(doc_len.shape[0], dtype=np.float64)


def tf_weights(variant: str, tf: np.ndarray, norm: np.ndarray, k1: float, delta: float) -> np.ndarray:
    """Saturated term-frequency weight of each posting (multiply by its term's IDF), vectorised.

    The formulas of :func:`ragkit.index.bm25.kernels.tf_weight`, operation for operation, so
    both give the same float64 values (a contract test holds them to it).
    """
    tf = tf.astype(np.float64)
    if variant == "lucene":
        return tf / (tf + k1 * norm)  # type: ignore[no-any-return]
    if variant == "okapi":
        return tf * (k1 + 1.0) / (tf + k1 * norm)  # type: ignore[no-any-return]
    if variant == "bm25+":
        return delta + tf * (k1 + 1.0) / (tf + k1 * norm)  # type: ignore[no-any-return]
    if variant == "bm25l":
        ctd = tf / norm
        return (k1 + 1.0) * (ctd + delta) / (k1 + ctd + delta)  # type: ignore[no-any-return]
    raise ValueError(f"unknown BM25 variant {variant!r}")
