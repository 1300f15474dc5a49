"""BM25 variants as vectorised formulas over postings.

Each variant is two functions of corpus statistics: an IDF per term and a saturated
term-frequency weight per posting. Scores are derived at query time from stored term
frequencies, so they always reflect the current corpus.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["Variant", "VARIANTS", "idf", "tf_weight"]

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


def tf_weight(
    variant: str, tf: np.ndarray, doc_len: np.ndarray, avgdl: float, k1: float, b: float, delta: float
) -> np.ndarray:
    """Saturated term-frequency weight of each posting (float64); multiply by the term's IDF."""
    tf = tf.astype(np.float64, copy=False)
    norm = 1.0 - b + b * (doc_len.astype(np.float64, copy=False) / avgdl) if avgdl > 0 else np.ones_like(tf)
    if variant == "lucene":
        return tf / (tf + k1 * norm)
    if variant == "okapi":
        return tf * (k1 + 1.0) / (tf + k1 * norm)
    if variant == "bm25+":
        return delta + tf * (k1 + 1.0) / (tf + k1 * norm)
    if variant == "bm25l":
        ctd = tf / norm
        return (k1 + 1.0) * (ctd + delta) / (k1 + ctd + delta)
    raise ValueError(f"unknown BM25 variant {variant!r}")
