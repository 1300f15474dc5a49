"""Diversity after fusion: maximal marginal relevance over the stored vectors, and a cap of chunks per document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np

from ragkit.core.errors import ConfigError
from ragkit.core.results import Candidates
from ragkit.core.validation import check_choice, check_float, check_int
from ragkit.search.stages.common import chunk_columns, cut, joined, row_vectors

if TYPE_CHECKING:
    from ragkit.search.context import SearchContext

__all__ = ["MMR", "mmr_order"]


def mmr_order(relevance: np.ndarray, vectors: np.ndarray, k: int, lambda_: float, *,
              groups: np.ndarray | None = None, per_group: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Greedy maximal marginal relevance: positions chosen (best first) and their MMR values.

    Each step picks the candidate maximising ``lambda_ * relevance - (1 - lambda_) * (its
    highest similarity to one already chosen)`` (0 before the first pick), similarity being
    the inner product of ``vectors`` rows (one matrix-vector product per pick: no
    candidates-by-candidates matrix, which multi-threaded BLAS makes slow on a busy machine); ties go to the
    earlier candidate. With ``groups`` and ``per_group``, a candidate whose group already
    has ``per_group`` chosen is skipped. Each value is capped at the one before, so they
    never increase (a negative similarity can raise a later candidate's raw value).
    """
    m = relevance.shape[0]
    chosen: list[int] = []
    values: list[float] = []
    closest = np.zeros(m, dtype=np.float64)  # highest similarity to a chosen candidate
    open_ = np.ones(m, dtype=bool)
    taken = np.zeros(int(groups.max()) + 1 if groups is not None and groups.size else 0, dtype=np.int64)
    while len(chosen) < k and open_.any():
        value = np.where(open_, lambda_ * relevance - (1.0 - lambda_) * closest, -np.inf)
        best = int(np.argmax(value))
        chosen.append(best)
        values.append(float(value[best]))
        open_[best] = False
        similarity = vectors @ vectors[best]
        closest = np.maximum(closest, similarity) if chosen[1:] else similarity
        if groups is not None and per_group is not None:
            taken[groups[best]] += 1
            if taken[groups[best]] >= per_group:
                open_ &= groups != groups[best]
    return np.asarray(chosen, dtype=np.int64), np.minimum.accumulate(np.asarray(values, dtype=np.float64))


@dataclass(frozen=True, kw_only=True)
class MMR:
    """The stage that diversifies each query's top ``candidates`` rows by maximal marginal relevance.

    Similarities are inner products of the vectors the collection's vector index holds
    (unit vectors: cosine); nothing is re-embedded. Relevance is the query's similarity to
    each row (``relevance="vector"``), or the incoming scores min-max scaled to [0, 1]
    (``"score"``, e.g. after :class:`~ragkit.search.stages.rerank.Rerank`).

    Args:
        lambda_: 1 ranks by relevance alone, 0 by novelty alone (a float in [0, 1]).
        candidates: rows considered per query (an int >= 1; more than ``k`` for any effect).
        per_document: at most this many chunks of one document in the result (``None``: no cap).
        relevance: ``"vector"`` or ``"score"``.

    A hit's score is its MMR value at the step it was picked, capped at the previous hit's.

    Example:
        >>> MMR(lambda_=0.7, candidates=40, per_document=2).depth(10)
        40

    Raises:
        ConfigError: a parameter out of range.
        InputError: on search, a collection without a vector index.
    """

    lambda_: float = 0.5
    candidates: int = 50
    per_document: int | None = None
    relevance: Literal["vector", "score"] = "vector"

    name: ClassVar[str] = "mmr"

    def __post_init__(self) -> None:
        owner = type(self).__name__
        object.__setattr__(self, "lambda_", check_float(owner, "lambda_", self.lambda_, low=0.0, high=1.0))
        object.__setattr__(self, "candidates", check_int(owner, "candidates", self.candidates, low=1))
        if self.per_document is not None:
            object.__setattr__(self, "per_document", check_int(owner, "per_document", self.per_document, low=1))
        check_choice(owner, "relevance", self.relevance, ("vector", "score"))

    def depth(self, k: int) -> int:
        return max(k, self.candidates)

    def apply(self, context: SearchContext, candidates: list[Candidates], k: int) -> list[Candidates]:
        pools = [cut(c, self.depth(k)) for c in candidates]
        rows, offsets = joined(pools)
        if rows.size == 0:
            return [Candidates.empty() for _ in pools]
        vectors = row_vectors(context, rows)
        queries = context.vectors() if self.relevance == "vector" else None
        groups = None
        if self.per_document is not None:
            _, groups = np.unique(np.asarray(chunk_columns(context, rows, ["doc_id"])["doc_id"], dtype=object),
                                  return_inverse=True)
        out = []
        for q, pool in enumerate(pools):
            lo, hi = int(offsets[q]), int(offsets[q + 1])
            v = vectors[lo:hi].astype(np.float64)
            if queries is not None:
                if queries.shape[1] != v.shape[1]:
                    raise ConfigError(f"MMR: query vectors have {queries.shape[1]} dimensions, the stored vectors {v.shape[1]}.")
                relevance = v @ queries[q].astype(np.float64)
            else:
                s = pool.scores
                span = float(s.max() - s.min()) if s.size else 0.0
                relevance = (s - s.min()) / span if span > 0 else np.ones_like(s)
            picked, values = mmr_order(relevance, v, k, self.lambda_, groups=None if groups is None else groups[lo:hi],
                                       per_group=self.per_document)
            out.append(Candidates(pool.rows[picked], values))
        return out
