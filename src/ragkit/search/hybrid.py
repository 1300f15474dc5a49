"""Hybrid retrieval: several legs (BM25 and dense by default), each filtered, then fused."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from ragkit.core.errors import ConfigError
from ragkit.core.protocols import Fusion
from ragkit.core.results import Candidates
from ragkit.core.validation import check_int, check_k
from ragkit.search.base import BaseRetriever, check_queries, optional_args
from ragkit.search.fusion import RRF, ScoreFusion
from ragkit.search.single import BM25Retriever, DenseRetriever
from ragkit.store.access import Principal
from ragkit.store.filters import Filter

if TYPE_CHECKING:
    from ragkit.observe.trace import Trace
    from ragkit.store.collection import Collection

__all__ = ["HybridRetriever"]


class HybridRetriever(BaseRetriever):
    """Fuses the candidates of several retrievers.

    Each leg retrieves ``candidates`` rows with the metadata filter applied inside the
    leg, then ``fusion`` merges them: ``"rrf"`` (:class:`RRF`, k=60), ``"score"``
    (:class:`ScoreFusion`, min-max, equal weights), or any :class:`Fusion` object.
    Each hit reports its rank and score in every leg that found it.

    Example:
        >>> hybrid = HybridRetriever(collection, fusion=ScoreFusion(weights=(0.4, 0.6)))  # doctest: +SKIP
        >>> hybrid.search("reciprocal rank fusion", k=10)                                    # doctest: +SKIP

    Raises:
        ConfigError: unknown fusion name, fewer than two legs, or ``candidates < 1``.
    """

    name = "hybrid"

    def __init__(self, collection: Collection, *, fusion: Literal["rrf", "score"] | Fusion = "rrf",
                 retrievers: Sequence[BaseRetriever] | None = None, candidates: int = 100) -> None:
        super().__init__(collection)
        if retrievers is None:
            retrievers = [BM25Retriever(collection), DenseRetriever(collection)]
        if len(retrievers) < 2:
            raise ConfigError(f"HybridRetriever needs at least two retrievers. Got {len(retrievers)}.")
        names = [r.name for r in retrievers]
        if len(set(names)) != len(names):
            raise ConfigError(f"HybridRetriever's retrievers need distinct names. Got {names}.")
        self.retrievers = list(retrievers)
        self.fusion = _resolve_fusion(fusion)
        self.candidates = check_int("HybridRetriever", "candidates", candidates, low=1)

    def bind(self, principal: Principal) -> HybridRetriever:
        """A copy searching for ``principal`` in every leg (see :meth:`BaseRetriever.bind`)."""
        bound = super().bind(principal)
        bound.retrievers = [r.bind(principal) for r in self.retrievers]
        return bound

    @property
    def generation(self) -> tuple[int, ...]:
        return tuple(g for r in self.retrievers for g in r.generation)

    def _legs(self, queries: Sequence[str], k: int, filters: Filter | None, trace: Trace | None = None,
              query_vectors: np.ndarray | None = None) -> tuple[list[Candidates], list[dict[str, Candidates]]]:
        check_k(type(self).__name__, k)
        queries = check_queries(queries)
        depth = max(k, self.candidates)
        extra = optional_args(trace, query_vectors)
        with self.collection.reading():  # every leg reads the same version
            per_leg = [r.retrieve(queries, depth, filters, **extra) for r in self.retrievers]
        if trace is not None:
            trace.scope = ""
        fused, legs = [], []
        for q in range(len(queries)):
            leg_results = [results[q] for results in per_leg]
            fused.append(self.fusion.fuse(leg_results, k))
            legs.append({r.name: c for r, c in zip(self.retrievers, leg_results, strict=True)})
        if trace is not None:
            trace.lap("fusion")
        return fused, legs

    def retrieve(self, queries: Sequence[str], k: int, filters: Filter | None = None, *,
                 trace: Trace | None = None, query_vectors: np.ndarray | None = None) -> list[Candidates]:
        return self._legs(queries, k, filters, trace, query_vectors)[0]


def _resolve_fusion(fusion: object) -> Fusion:
    if fusion == "rrf":
        return RRF()
    if fusion == "score":
        return ScoreFusion()
    if isinstance(fusion, Fusion):
        return fusion
    raise ConfigError(
        f"The 'fusion' parameter of HybridRetriever must be 'rrf', 'score' or a Fusion object "
        f"(RRF(...), ScoreFusion(...)). Got {fusion!r} instead."
    )
