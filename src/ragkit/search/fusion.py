"""Fusion of several ranked legs: reciprocal rank fusion and normalised score fusion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ragkit.core.errors import ConfigError, InputError
from ragkit.core.results import Candidates
from ragkit.core.topk import top_k
from ragkit.core.validation import check_choice, check_float, check_int, check_k

__all__ = ["RRF", "ScoreFusion", "Normalization", "normalize", "DEFAULT_LEG_WEIGHTS", "default_fusion", "describe_fusion"]

Normalization = Literal["minmax", "zscore", "rank", "none"]
_NORMALIZATIONS = ("minmax", "zscore", "rank", "none")


def _check_weights(owner: str, weights: tuple[float, ...] | None) -> None:
    if weights is None:
        return
    if not isinstance(weights, tuple) or not weights:
        raise ConfigError(f"The 'weights' parameter of {owner} must be a non-empty tuple of numbers. Got {weights!r} instead.")
    for w in weights:
        check_float(owner, "weights", w, low=0.0)
    if sum(weights) <= 0:
        raise ConfigError(f"The 'weights' parameter of {owner} must not be all zero. Got {weights!r} instead.")


def _leg_weights(owner: str, weights: tuple[float, ...] | None, n_legs: int) -> np.ndarray:
    if weights is None:
        return np.ones(n_legs)
    if len(weights) != n_legs:
        raise InputError(f"{owner} has {len(weights)} weights for {n_legs} legs; give one weight per leg.")
    return np.asarray(weights, dtype=np.float64)


def _accumulate(legs: Sequence[Candidates], contributions: Sequence[np.ndarray], k: int) -> Candidates:
    """Sum per-row contributions across legs (vectorised) and keep the top ``k``."""
    if not legs or all(len(c) == 0 for c in legs):
        return Candidates.empty()
    rows = np.concatenate([c.rows for c in legs])
    values = np.concatenate(contributions)
    unique, inverse = np.unique(rows, return_inverse=True)
    totals = np.bincount(inverse, weights=values, minlength=unique.shape[0])
    return top_k(totals, k, unique)


@dataclass(frozen=True, kw_only=True)
class RRF:
    """Reciprocal rank fusion: ``score(d) = sum_i w_i / (k + rank_i(d))``, ranks from 1.

    Example:
        >>> a = Candidates(np.array([1, 2]), np.array([9.0, 8.0]))
        >>> b = Candidates(np.array([2, 3]), np.array([0.9, 0.8]))
        >>> [int(r) for r in RRF(k=60).fuse([a, b], k=3).rows]
        [2, 1, 3]
    """

    k: int = 60
    weights: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "k", check_int("RRF", "k", self.k, low=0))
        _check_weights("RRF", self.weights)

    def fuse(self, legs: Sequence[Candidates], k: int) -> Candidates:
        k = check_k("RRF.fuse", k)
        w = _leg_weights("RRF", self.weights, len(legs))
        contributions = [w[i] / (self.k + np.arange(1, len(c) + 1, dtype=np.float64)) for i, c in enumerate(legs)]
        return _accumulate(legs, contributions, k)


def normalize(scores: np.ndarray, method: Normalization) -> np.ndarray:
    """Rescale one leg's scores: min-max to [0, 1], z-score, rank-based, or unchanged.

    ``"rank"`` ignores the values and maps the candidates (given best first) to
    ``1 - (rank - 1) / n``.

    A leg whose scores are all equal maps to 1.0 (min-max) or 0.0 (z-score).

    Raises:
        ConfigError: an unknown ``method``.
        InputError: ``scores`` that are not a 1-d array of numbers.
    """
    if method not in _NORMALIZATIONS:
        check_choice("normalize", "method", method, _NORMALIZATIONS)
    if not isinstance(scores, np.ndarray) or scores.ndim != 1 or scores.dtype.kind not in "iuf":
        raise InputError(f"normalize takes a 1-d numpy array of scores. Got {type(scores).__name__}"
                         f"{f' of {scores.dtype}, shape {scores.shape}' if isinstance(scores, np.ndarray) else ''}.")
    scores = scores.astype(np.float64, copy=False)
    if method == "none" or scores.size == 0:
        return scores
    if method == "rank":
        return 1.0 - np.arange(scores.size, dtype=np.float64) / scores.size
    if method == "minmax":
        lo, hi = scores.min(), scores.max()
        return np.ones_like(scores) if hi == lo else (scores - lo) / (hi - lo)
    std = scores.std()
    return np.zeros_like(scores) if std == 0 else (scores - scores.mean()) / std


@dataclass(frozen=True, kw_only=True)
class ScoreFusion:
    """Weighted sum of normalised scores.

    Each leg's candidate scores are normalised (``"minmax"``, ``"zscore"``, ``"rank"`` or ``"none"``)
    and multiplied by the leg's weight. A row missing from a leg gets that leg's lowest
    normalised score, i.e. it counts as no better than the worst candidate the leg found.

    ``complete=True``: before fusing, a :class:`~ragkit.HybridRetriever` asks each leg that
    can score given rows (``score_rows``: the built-in dense and BM25 legs) for its exact
    score of every candidate another leg found, so every leg normalises over the same
    candidates and nothing is imputed (a leg that cannot still gets its lowest score).

    Example:
        >>> fusion = ScoreFusion(weights=(0.3, 0.7), normalization="minmax")
    """

    weights: tuple[float, ...] | None = None
    normalization: Normalization = "minmax"
    complete: bool = False

    def __post_init__(self) -> None:
        _check_weights("ScoreFusion", self.weights)
        check_choice("ScoreFusion", "normalization", self.normalization, ("minmax", "zscore", "rank", "none"))
        if not isinstance(self.complete, bool):
            raise ConfigError(f"The 'complete' parameter of ScoreFusion must be True or False. Got {self.complete!r} instead.")

    def fuse(self, legs: Sequence[Candidates], k: int) -> Candidates:
        k = check_k("ScoreFusion.fuse", k)
        w = _leg_weights("ScoreFusion", self.weights, len(legs))
        normed = [normalize(c.scores, self.normalization) for c in legs]
        floors = np.array([n.min() if n.size else 0.0 for n in normed])
        # every row gets each leg's floor; rows a leg found add their margin above it
        contributions = [w[i] * (n - floors[i]) for i, n in enumerate(normed)]
        fused = _accumulate(legs, contributions, k)
        offset = float((w * floors).sum())
        return Candidates(fused.rows, fused.scores + offset)


#: Leg weights of the default hybrid fusion (z-score normalised scores), by leg name; a leg
#: not named here weighs 0.5. Chosen on tuning splits only (SciFact train, NFCorpus dev and
#: ragkit's own docs questions), never on a test split: see docs/hybrid-search.md.
DEFAULT_LEG_WEIGHTS: dict[str, float] = {"bm25": 0.4, "dense": 0.6}


def default_fusion(leg_names: Sequence[str]) -> ScoreFusion:
    """The fusion a :class:`~ragkit.HybridRetriever` uses unless told otherwise.

    Every candidate is scored by every leg (``complete=True``: a document only one leg found
    gets the other leg's exact score, not a guess), each leg's scores are z-score normalised
    over those candidates (so a leg whose best candidates stand far above its others counts
    for more on that query) and weighted by :data:`DEFAULT_LEG_WEIGHTS`.

    Example:
        >>> default_fusion(["bm25", "dense"])
        ScoreFusion(weights=(0.4, 0.6), normalization='zscore', complete=True)
    """
    return ScoreFusion(weights=tuple(DEFAULT_LEG_WEIGHTS.get(n, 0.5) for n in leg_names), normalization="zscore",
                       complete=True)


def describe_fusion(fusion: object, leg_names: Sequence[str]) -> str:
    """One line naming a fusion and the weight of each leg, for traces and logs.

    Example:
        >>> describe_fusion(default_fusion(["bm25", "dense"]), ["bm25", "dense"])
        'score zscore complete: bm25=0.4 dense=0.6'
    """
    weights = getattr(fusion, "weights", None)
    per_leg = " ".join(f"{n}={w:g}" for n, w in zip(leg_names, weights if weights else [1.0] * len(leg_names), strict=False))
    if isinstance(fusion, RRF):
        return f"rrf k={fusion.k}: {per_leg}"
    if isinstance(fusion, ScoreFusion):
        return f"score {fusion.normalization}{' complete' if fusion.complete else ''}: {per_leg}"
    return f"{type(fusion).__name__}: {per_leg}"
