"""Reranking after fusion: a cross-encoder (any :class:`~ragkit.core.protocols.Reranker`) rescores the top candidates.

Cross-encoders read the query and the passage together, so they rank better than the
legs, and cost far more: one model pass per (query, passage) pair. The stage therefore
reranks only the top ``candidates`` fused rows, and a time budget can cut that short:
pairs are scored rank tier by rank tier (every query's best row, then every query's
second, ...), so when the budget runs out each query has its best rows reranked and the
rest keep their fused order below them. The search never fails for lack of time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ragkit.core.errors import ConfigError, InputError
from ragkit.core.protocols import Reranker
from ragkit.core.results import Candidates
from ragkit.core.validation import check_float, check_int, check_str
from ragkit.search.stages.common import cut, joined, note, passage_texts

if TYPE_CHECKING:
    from ragkit.search.context import SearchContext

__all__ = ["DEFAULT_RERANK_DEPTH", "Rerank", "Reranked", "rerank_lists"]

#: Candidates reranked per query by default: twice the usual k=10, the shallowest depth that can promote rows from
#: below the top 10. The cost is linear in the depth, about 80 ms per pair of 254-token chunks for a MiniLM-L6
#: cross-encoder on two CPU cores (benchmarks/results/rerank_latency.md): bound it with ``budget_ms`` on CPU.
DEFAULT_RERANK_DEPTH = 20


@dataclass(frozen=True, slots=True)
class Reranked:
    """What :func:`rerank_lists` made of each query's candidates."""

    candidates: list[Candidates]  # the new ranking per query (reranked rows first)
    legs: list[Candidates]  # per query, the rows the reranker scored, in its order, with its scores
    scored: int  # pairs scored
    total: int  # pairs that would have been scored without a budget


def rerank_lists(reranker: Reranker, queries: Sequence[str], candidates: Sequence[Candidates],
                 passages: Callable[[np.ndarray], list[str]], *, depth: int, keep: int,
                 budget_seconds: float | None = None, batch_size: int = 32,
                 clock: Callable[[], float] = time.perf_counter) -> Reranked:
    """Rerank the first ``depth`` of each query's ``candidates`` and return ``keep`` per query.

    ``passages(rows)`` gives the text of the given rows (codes of any kind: chunk rows,
    document codes). Without a budget every pair goes to the reranker in one call (it
    batches). With ``budget_seconds`` (for all queries together) pairs go in batches of
    ``batch_size``, rank tier by rank tier, and scoring stops before a batch that would
    overrun it (predicted from the batches so far; the first batch always runs). A query
    with ``m`` rows scored gets them in reranked order, then its other rows in fused order
    with scores below every reranked one (the lowest reranked score minus 1, 2, ...);
    with none scored it keeps its fused ranking and scores.

    Raises:
        ConfigError: the reranker returned another number of scores than pairs, or non-finite scores.
    """
    heads = [cut(c, depth) for c in candidates]
    rows, offsets = joined(heads)
    n, nq = int(rows.size), len(heads)
    if n == 0:
        return Reranked([cut(c, keep) for c in candidates], [Candidates.empty() for _ in heads], 0, 0)
    query_of = np.repeat(np.arange(nq), np.diff(offsets))
    rank = np.arange(n) - offsets[query_of]
    order = np.lexsort((query_of, rank))  # tier by tier: every query's best row first
    texts = passages(rows)
    scores = np.zeros(n, dtype=np.float64)
    scored = np.zeros(n, dtype=bool)
    step = n if budget_seconds is None else max(1, batch_size)
    start, done = clock(), 0
    while done < n:
        part = order[done:done + step]
        if budget_seconds is not None and done and \
                clock() + (clock() - start) / done * part.size > start + budget_seconds:
            break
        scores[part] = _checked(reranker, reranker.score([queries[q] for q in query_of[part].tolist()],
                                                         [texts[i] for i in part.tolist()]), part.size)
        scored[part] = True
        done += part.size
    out, legs = [], []
    for q, whole in enumerate(candidates):
        lo, hi = int(offsets[q]), int(offsets[q + 1])
        m = int(scored[lo:hi].sum())  # a prefix of the query's rows: tiers go in rank order
        if m == 0:
            out.append(cut(whole, keep))
            legs.append(Candidates.empty())
            continue
        by = np.argsort(-scores[lo:lo + m], kind="stable")  # ties keep the fused order
        leg = Candidates(rows[lo:lo + m][by], scores[lo:lo + m][by])
        rest = whole.rows[m:max(keep, m)]
        below = leg.scores[-1] - 1.0 - np.arange(rest.size, dtype=np.float64)
        out.append(cut(Candidates(np.concatenate([leg.rows, rest]), np.concatenate([leg.scores, below])), keep))
        legs.append(leg)
    return Reranked(out, legs, done, n)


def _checked(reranker: Reranker, scores: Any, expected: int) -> np.ndarray:
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    if values.size != expected:
        raise ConfigError(f"The reranker {reranker.model_id!r} returned {values.size} scores for {expected} pairs; "
                          "a Reranker returns one score per (query, passage) pair.")
    if not np.isfinite(values).all():
        raise ConfigError(f"The reranker {reranker.model_id!r} returned a score that is not a finite number.")
    return values


@dataclass(frozen=True)
class Rerank:
    """The stage that reranks the top ``candidates`` fused rows of each query with ``reranker``.

    Args:
        reranker: a :class:`~ragkit.core.protocols.Reranker`, or a cross-encoder model name
            or local folder (a :class:`~ragkit.embedding.cross_encoder.CrossEncoderReranker`
            with default settings, loaded on first use).
        candidates: rows reranked per query (an int >= 1; a search's ``k`` may not exceed it).
        budget_ms: time allowed per query (milliseconds, > 0; ``None``: no limit). When it
            runs out fewer rows are reranked (see :func:`rerank_lists`), and the trace notes it.
        prepend: metadata fields put before each passage, e.g. ``("title",)`` or
            ``("headings",)`` (a list field joins with " > ").
        batch_size: pairs per reranker call under a budget (the unit the budget is checked at).
        keep_rest: also return the fused rows below the reranked ones (scores below every
            reranked one), so a search may ask for more than ``candidates`` (a deep
            evaluation run whose top is reranked).

    Each hit reports the reranker's rank and score as its ``"rerank"`` leg (beside its
    ``bm25`` / ``dense`` legs and, for a hybrid, its ``"fusion"`` rank); the stage's time
    shows in traces as ``rerank``.

    Example:
        >>> from ragkit.testing import FakeReranker
        >>> Rerank(FakeReranker(), candidates=30).depth(10)
        30

    Raises:
        ConfigError: a parameter out of range, or a reranker that is not a Reranker.
        InputError: a search with ``k`` above ``candidates`` (unless ``keep_rest``).
    """

    reranker: Reranker | str
    _: KW_ONLY
    candidates: int = DEFAULT_RERANK_DEPTH
    budget_ms: float | None = None
    prepend: tuple[str, ...] = ()
    batch_size: int = 32
    keep_rest: bool = False

    name: ClassVar[str] = "rerank"

    def __post_init__(self) -> None:
        owner = type(self).__name__
        if isinstance(self.reranker, str):
            from ragkit.embedding.cross_encoder import CrossEncoderReranker

            object.__setattr__(self, "reranker", CrossEncoderReranker(check_str(owner, "reranker", self.reranker)))
        if not isinstance(self.reranker, Reranker):
            raise ConfigError(f"The 'reranker' parameter of {owner} must be a Reranker (model_id, score(queries, texts), "
                              f"get_config()) or a cross-encoder model name. Got {type(self.reranker).__name__} instead.")
        object.__setattr__(self, "candidates", check_int(owner, "candidates", self.candidates, low=1))
        if self.budget_ms is not None:
            object.__setattr__(self, "budget_ms", check_float(owner, "budget_ms", self.budget_ms, low=1e-3))
        if not isinstance(self.prepend, tuple) or not all(isinstance(f, str) and f for f in self.prepend):
            raise ConfigError(f"The 'prepend' parameter of {owner} must be a tuple of metadata field names. "
                              f"Got {self.prepend!r} instead.")
        object.__setattr__(self, "batch_size", check_int(owner, "batch_size", self.batch_size, low=1))
        if not isinstance(self.keep_rest, bool):
            raise ConfigError(f"The 'keep_rest' parameter of {owner} must be True or False. Got {self.keep_rest!r} instead.")

    def depth(self, k: int) -> int:
        if self.keep_rest:
            return max(k, self.candidates)
        if k > self.candidates:
            raise InputError(f"Rerank reranks {self.candidates} candidates per query, fewer than k={k}; "
                             f"search with k <= {self.candidates} or give Rerank(candidates={k}) or more.")
        return self.candidates

    def apply(self, context: SearchContext, candidates: list[Candidates], k: int) -> list[Candidates]:
        budget = None if self.budget_ms is None else self.budget_ms / 1e3 * len(context.queries)
        assert isinstance(self.reranker, Reranker)
        done = rerank_lists(self.reranker, context.queries, candidates, lambda rows: passage_texts(context, rows, self.prepend),
                            depth=self.candidates, keep=k, budget_seconds=budget, batch_size=self.batch_size)
        context.legs[self.name] = done.legs
        if done.scored < done.total:
            note(context, self.name, f"time budget of {self.budget_ms:g} ms per query reached: reranked {done.scored} of "
                                     f"{done.total} candidates, the rest kept their fused order")
        return done.candidates
