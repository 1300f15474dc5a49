"""Hybrid retrieval: several legs (BM25 and dense by default) over one shared mask, then fused."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ragkit.core.errors import ConfigError
from ragkit.core.protocols import Fusion
from ragkit.core.results import Candidates
from ragkit.core.rowsets import difference
from ragkit.core.topk import top_k
from ragkit.core.validation import as_list, check_int, check_role
from ragkit.search.base import BaseRetriever
from ragkit.search.context import SearchContext
from ragkit.search.fusion import RRF, ScoreFusion, default_fusion, describe_fusion
from ragkit.search.planner import run_leg
from ragkit.search.single import BM25Retriever, DenseRetriever
from ragkit.store.access import Principal

if TYPE_CHECKING:
    from ragkit.store.storage import SearchStorage

__all__ = ["HybridRetriever", "complete_leg"]


class HybridRetriever(BaseRetriever):
    """Fuses the candidates of several legs.

    Every leg reads the same search context: the metadata filter and access mask are
    compiled once, the queries embedded once. Each leg returns ``candidates`` rows, then
    ``fusion`` merges them: ``"default"`` (:func:`~ragkit.search.fusion.default_fusion`:
    z-score normalised scores, BM25 0.4 / dense 0.6), ``"rrf"`` (:class:`RRF`, k=60),
    ``"score"`` (:class:`ScoreFusion`, min-max, equal weights), ``"zscore"`` (z-score,
    equal weights), or any :class:`Fusion` object. Each hit reports its rank and score in
    every leg that found it; a trace notes the fusion and each leg's weight.

    A leg is any retriever: the built-in ones, another hybrid, or a wrapper (a cache).

    Example:
        >>> hybrid = HybridRetriever(collection, fusion=ScoreFusion(weights=(0.4, 0.6)))  # doctest: +SKIP
        >>> hybrid.search("reciprocal rank fusion", k=10)                                    # doctest: +SKIP

    Raises:
        ConfigError: unknown fusion name, fewer than two legs, legs with the same name, or ``candidates < 1``.
    """

    name = "hybrid"
    composite = True

    def __init__(self, collection: SearchStorage, *, fusion: Literal["default", "rrf", "score", "zscore"] | Fusion = "default",
                 retrievers: Sequence[Any] | None = None, candidates: int = 100) -> None:
        super().__init__(collection)
        if retrievers is None:
            retrievers = [BM25Retriever(collection), DenseRetriever(collection)]
        retrievers = as_list("HybridRetriever", retrievers, "retrievers as a list")
        if len(retrievers) < 2:
            raise ConfigError(f"HybridRetriever needs at least two retrievers. Got {len(retrievers)}.")
        for r in retrievers:
            check_role("HybridRetriever", "retrievers", r, "list of retrievers", ("search_batch", "retrieve", "bind"))
        names = [getattr(r, "name", None) for r in retrievers]
        if len(set(names)) != len(names):
            raise ConfigError(f"HybridRetriever's retrievers need distinct names. Got {names}.")
        for r in retrievers:
            if getattr(r, "collection", collection) is not collection:
                raise ConfigError(f"Every leg of a HybridRetriever must search the same collection; {r!r} searches another.")
        self.retrievers = list(retrievers)
        self.fusion = _resolve_fusion(fusion, [str(n) for n in names])
        self.candidates_per_leg = check_int("HybridRetriever", "candidates", candidates, low=1)

    def bind(self, principal: Principal) -> HybridRetriever:
        """A copy searching for ``principal`` in every leg (see :meth:`BaseRetriever.bind`)."""
        bound = super().bind(principal)
        bound.retrievers = [r.bind(principal) for r in self.retrievers]
        return bound

    @property
    def generation(self) -> tuple[int, ...]:
        return tuple(g for r in self.retrievers for g in r.generation)

    def candidates(self, context: SearchContext, k: int) -> list[Candidates]:
        depth = max(k, self.candidates_per_leg)
        per_leg = [run_leg(r, context, depth) for r in self.retrievers]
        trace = context.trace
        if getattr(self.fusion, "complete", False):
            per_leg = [complete_leg(r, context, found, per_leg) for r, found in zip(self.retrievers, per_leg, strict=True)]
            if trace is not None:
                trace.lap("complete")
        fused = [self.fusion.fuse([found[q] for found in per_leg], k) for q in range(len(context.queries))]
        if trace is not None:
            trace.lap("fusion")
            note = getattr(trace, "note", None)
            if note is not None:
                note("fusion", describe_fusion(self.fusion, [r.name for r in self.retrievers]))
        return fused


def complete_leg(leg: Any, context: SearchContext, found: list[Candidates], per_leg: list[list[Candidates]]) -> list[Candidates]:
    """``found`` (one leg's candidates per query) plus the leg's own scores of every row another leg found,
    best first; ``found`` unchanged when the leg cannot score given rows (no ``score_rows``, or it returns None).

    The legs' reported ranks and scores (``context.legs``, each hit's ``legs``) stay what they returned.
    """
    score_rows = getattr(leg, "score_rows", None)
    if score_rows is None:
        return found
    missing = [difference(np.concatenate([other[q].rows for other in per_leg]), found[q].rows) for q in range(len(found))]
    if not any(m.size for m in missing):
        return found
    scores = score_rows(context, missing)
    if scores is None:
        return found
    out = []
    for own, rows, extra in zip(found, missing, scores, strict=True):
        all_rows = np.concatenate([own.rows, rows]).astype(np.int64, copy=False)
        all_scores = np.concatenate([own.scores, np.asarray(extra, dtype=np.float64)])
        out.append(top_k(all_scores, all_rows.shape[0], all_rows))
    return out


def _resolve_fusion(fusion: object, leg_names: list[str]) -> Fusion:
    if isinstance(fusion, str):
        if fusion == "default":
            return default_fusion(leg_names)
        if fusion == "rrf":
            return RRF()
        if fusion == "score":
            return ScoreFusion()
        if fusion == "zscore":
            return ScoreFusion(normalization="zscore")
    elif isinstance(fusion, Fusion) and not isinstance(fusion, type):
        return fusion
    raise ConfigError(
        f"The 'fusion' parameter of HybridRetriever must be 'default', 'rrf', 'score', 'zscore' or a Fusion object "
        f"(RRF(...), ScoreFusion(...)). Got {fusion!r} instead."
    )
