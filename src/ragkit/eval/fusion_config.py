"""How a workbench fuses its legs: :class:`FusionConfig` and the vectorised fusion itself.

Candidates of every query are held flat (CSR: ``offsets`` into ``docs``/``scores``), so a
fusion over all queries is a handful of array operations: normalise per query segment,
weight, sum per (query, document), sort.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ragkit.core.errors import ConfigError
from ragkit.core.validation import check_choice, check_float, check_int
from ragkit.search.fusion import RRF, ScoreFusion

__all__ = ["FusionConfig", "FusionMethod", "ScoreNormalization", "fuse_segments", "normalize_segments"]

FusionMethod = Literal["rrf", "score"]
ScoreNormalization = Literal["minmax", "zscore", "rank", "none"]
_METHODS = ("rrf", "score")
_NORMALIZATIONS = ("minmax", "zscore", "rank", "none")


@dataclass(frozen=True, kw_only=True)
class FusionConfig:
    """One way of fusing a workbench's legs.

    Args:
        legs: the legs to fuse, by name; ``None`` means all of them in the order added. A
            single leg gives that leg's own ranking.
        method: ``"rrf"`` (``sum_i w_i / (k + rank_i)``) or ``"score"`` (weighted sum of
            normalised scores; a document a leg did not return gets that leg's lowest
            normalised score).
        k: the RRF constant (``method="rrf"`` only), an int >= 0.
        weights: one weight >= 0 per leg in ``legs`` order; ``None`` means all 1.
        normalization: for ``method="score"``: ``"minmax"`` (to [0, 1] per query),
            ``"zscore"``, ``"rank"`` (``1 - (rank - 1) / n`` over the leg's n candidates) or ``"none"``.

    Example:
        >>> FusionConfig(method="score", weights=(0.3, 0.7), legs=("bm25", "dense")).label
        'score minmax w=0.3/0.7'

    Raises:
        ConfigError: on an unknown method or normalisation, ``k < 0``, negative or all-zero
            weights, or weights that do not match ``legs``.
    """

    legs: tuple[str, ...] | None = None
    method: FusionMethod = "rrf"
    k: int = 60
    weights: tuple[float, ...] | None = None
    normalization: ScoreNormalization = "minmax"

    def __post_init__(self) -> None:
        owner = "FusionConfig"
        check_choice(owner, "method", self.method, _METHODS)
        check_int(owner, "k", self.k, low=0)
        check_choice(owner, "normalization", self.normalization, _NORMALIZATIONS)
        if self.legs is not None:
            if isinstance(self.legs, str) or not isinstance(self.legs, tuple) or not self.legs:
                raise ConfigError(f"The 'legs' parameter of {owner} must be a non-empty tuple of leg names or None. "
                                  f"Got {self.legs!r} instead.")
            if len(set(self.legs)) != len(self.legs):
                raise ConfigError(f"The 'legs' parameter of {owner} names a leg twice. Got {self.legs!r} instead.")
        if self.weights is not None:
            if not isinstance(self.weights, tuple) or not self.weights:
                raise ConfigError(f"The 'weights' parameter of {owner} must be a non-empty tuple of numbers or None. "
                                  f"Got {self.weights!r} instead.")
            for w in self.weights:
                check_float(owner, "weights", w, low=0.0)
            if sum(self.weights) <= 0:
                raise ConfigError(f"The 'weights' parameter of {owner} must not be all zero. Got {self.weights!r} instead.")
            if self.legs is not None and len(self.weights) != len(self.legs):
                raise ConfigError(f"{owner} has {len(self.weights)} weights for legs {self.legs!r}; give one weight per leg.")

    @property
    def label(self) -> str:
        """A short human-readable name, e.g. ``'rrf k=60'`` or ``'score zscore w=0.4/0.6'``."""
        head = f"rrf k={self.k}" if self.method == "rrf" else f"score {self.normalization}"
        if self.weights is not None:
            head += " w=" + "/".join(f"{w:g}" for w in self.weights)
        if self.legs is not None and len(self.legs) == 1:
            return self.legs[0]
        return head

    def to_fusion(self) -> RRF | ScoreFusion:
        """The same fusion as a :class:`~ragkit.RRF` / :class:`~ragkit.ScoreFusion` for a HybridRetriever.

        Note the retriever fuses chunk candidates, the workbench document candidates.
        """
        weights = tuple(float(w) for w in self.weights) if self.weights is not None else None
        if self.method == "rrf":
            return RRF(k=self.k, weights=weights)
        return ScoreFusion(weights=weights, normalization=self.normalization)

    def as_dict(self) -> dict[str, Any]:
        """Flat fields for a table row (``weights`` and ``legs`` joined with ``/``)."""
        return {
            "legs": "/".join(self.legs) if self.legs else None,
            "method": self.method,
            "rrf_k": self.k if self.method == "rrf" else None,
            "normalization": self.normalization if self.method == "score" else None,
            "weights": "/".join(f"{w:g}" for w in self.weights) if self.weights else None,
        }


def normalize_segments(scores: np.ndarray, offsets: np.ndarray, method: ScoreNormalization) -> np.ndarray:
    """Normalise ``scores`` within each segment ``offsets[i]:offsets[i+1]`` (one per query).

    Scores within a segment are in rank order (best first). ``"minmax"`` maps to [0, 1]
    (a constant segment to 1), ``"zscore"`` to mean 0 / std 1 (a constant segment to 0),
    ``"rank"`` to ``1 - (rank - 1) / n``.

    Example:
        >>> normalize_segments(np.array([3.0, 1.0, 5.0]), np.array([0, 2, 3]), "minmax").tolist()
        [1.0, 0.0, 1.0]
    """
    scores = np.asarray(scores, dtype=np.float64)
    if method == "none" or scores.size == 0:
        return scores
    counts = np.diff(offsets)
    seg = np.repeat(np.arange(counts.size), counts)
    if method == "rank":
        rank0 = np.arange(scores.size) - offsets[:-1][seg]
        return 1.0 - rank0 / counts[seg]
    if method == "minmax":
        lo = np.full(counts.size, np.inf)
        hi = np.full(counts.size, -np.inf)
        np.minimum.at(lo, seg, scores)
        np.maximum.at(hi, seg, scores)
        span = (hi - lo)[seg]
        return np.where(span > 0, (scores - lo[seg]) / np.where(span > 0, span, 1.0), 1.0)
    n = np.maximum(counts, 1)
    mean = np.bincount(seg, weights=scores, minlength=counts.size) / n
    var = np.bincount(seg, weights=(scores - mean[seg]) ** 2, minlength=counts.size) / n
    std = np.sqrt(var)[seg]
    return np.where(std > 0, (scores - mean[seg]) / np.where(std > 0, std, 1.0), 0.0)


def fuse_segments(
    legs: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    weights: np.ndarray,
    config: FusionConfig,
    n_queries: int,
    depth: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fuse legs given as ``(offsets, docs, scores)`` over the same queries.

    Returns ``(offsets, docs, scores)`` of the fused ranking, at most ``depth`` documents
    per query, best first (ties: lower document code first).
    """
    values: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    offsets_to_add = np.zeros(n_queries)
    for (offsets, docs, scores), w in zip(legs, weights, strict=True):
        counts = np.diff(offsets)
        seg = np.repeat(np.arange(n_queries), counts)
        if config.method == "rrf":
            ranks = np.arange(scores.size) - offsets[:-1][seg] + 1.0
            contribution = w / (config.k + ranks)
        else:
            normed = normalize_segments(scores, offsets, config.normalization)
            floor = np.full(n_queries, np.inf)
            np.minimum.at(floor, seg, normed)
            floor[~np.isfinite(floor)] = 0.0
            contribution = w * (normed - floor[seg])
            offsets_to_add += w * floor
        values.append((seg, docs, contribution))
    n_docs = max(1, 1 + max((int(v[1].max(initial=-1)) for v in values), default=-1))
    seg_all = np.concatenate([v[0] for v in values]).astype(np.int64)
    doc_all = np.concatenate([v[1] for v in values]).astype(np.int64)
    val_all = np.concatenate([v[2] for v in values])
    unique, inverse = np.unique(seg_all * n_docs + doc_all, return_inverse=True)
    totals = np.bincount(inverse.reshape(-1), weights=val_all, minlength=unique.size)
    q_of = unique // n_docs
    d_of = unique % n_docs
    totals = totals + offsets_to_add[q_of]
    order = np.lexsort((d_of, -totals, q_of))
    q_sorted, d_sorted, s_sorted = q_of[order], d_of[order], totals[order]
    counts = np.bincount(q_sorted, minlength=n_queries)
    starts = np.concatenate([[0], np.cumsum(counts)])
    rank0 = np.arange(q_sorted.size) - starts[q_sorted]
    keep = rank0 < depth
    kept_counts = np.minimum(counts, depth)
    out_offsets = np.concatenate([[0], np.cumsum(kept_counts)]).astype(np.int64)
    return out_offsets, d_sorted[keep], s_sorted[keep]
