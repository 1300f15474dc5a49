"""``check_stage`` and ``check_reranker``: the contracts of stages after fusion and of rerankers."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ragkit.core.errors import RagkitError
from ragkit.core.protocols import Reranker
from ragkit.core.results import Candidates
from ragkit.observe.trace import Trace
from ragkit.search.context import SearchContext
from ragkit.search.protocols import HitStage, Stage
from ragkit.testing.contract import ContractViolation
from ragkit.testing.retrievers import check_retriever

__all__ = ["check_reranker", "check_stage"]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ContractViolation(message)


def check_stage(stage: Any, retriever: Any, queries: Sequence[str], *, k: int = 3) -> None:
    """Check ``stage`` on ``retriever`` (a retriever over a small collection); raise :class:`ContractViolation` on the first failure.

    A stage has ``name``, ``depth(k) >= k`` and ``apply(context, candidates, k)``; it returns
    at most ``k`` rows per query, only rows it was given, best first, and nothing for no
    candidates; its time shows in a trace under its name; ``retriever.then(stage)`` passes
    :func:`~ragkit.testing.check_retriever`.
    """
    name = type(stage).__name__
    _require(isinstance(stage, Stage), f"{name} lacks part of the stage shape (name, depth(k), apply(context, candidates, k)).")
    _require(isinstance(stage.name, str) and bool(stage.name), f"{name}.name must be a non-empty str.")
    depth = stage.depth(k)
    _require(isinstance(depth, int) and depth >= k, f"{name}.depth({k}) must be an int >= {k}, got {depth!r}.")
    queries = list(queries)
    storage = retriever.collection
    with storage.reading():
        context = SearchContext(storage, queries, principal=retriever.principal)
        given = retriever.retrieve(queries, depth)
        out = stage.apply(context, given, k)
        _require(isinstance(out, list) and len(out) == len(queries), f"{name}.apply must return one Candidates per query.")
        for q, (before, after) in enumerate(zip(given, out, strict=True)):
            _require(isinstance(after, Candidates) and len(after) <= k, f"{name}.apply returned more than k={k} rows for query {q}.")
            _require(set(after.rows.tolist()) <= set(before.rows.tolist()), f"{name}.apply returned a row it was not given (query {q}).")
            _require(len(set(after.rows.tolist())) == len(after), f"{name}.apply returned a row twice (query {q}).")
            _require(all(a >= b for a, b in itertools.pairwise(after.scores.tolist())), f"{name}: rows of query {q} are not best first.")
        empty = stage.apply(SearchContext(storage, queries, principal=retriever.principal), [Candidates.empty() for _ in queries], k)
        _require(all(len(c) == 0 for c in empty), f"{name}.apply must return no rows for no candidates.")
    staged = retriever.then(stage)
    trace = Trace()
    staged.search_batch(queries, k, trace=trace)
    _require(stage.name in trace.stage_seconds, f"{name}: the trace has no stage named {stage.name!r}.")
    if isinstance(stage, HitStage):
        _require(f"{stage.name}.hits" in trace.stage_seconds, f"{name}: the trace has no stage named {stage.name + '.hits'!r}.")
    check_retriever(staged, queries, k=k)


def check_reranker(reranker: Any) -> None:
    """Check ``reranker`` against the :class:`~ragkit.core.protocols.Reranker` role; raise :class:`ContractViolation` on failure."""
    name = type(reranker).__name__
    _require(isinstance(reranker, Reranker), f"{name} lacks part of the Reranker shape (model_id, score, get_config).")
    _require(isinstance(reranker.model_id, str) and bool(reranker.model_id), f"{name}.model_id must be a non-empty str.")
    _require(isinstance(reranker.get_config(), dict), f"{name}.get_config() must return a dict.")
    queries = ["cats purr", "cats purr", "dogs bark"]
    texts = ["A cat purrs when content.", "Dogs bark at strangers.", "Dogs bark at strangers."]
    scores = np.asarray(reranker.score(queries, texts))
    _require(scores.shape == (3,) and np.issubdtype(scores.dtype, np.floating) and bool(np.isfinite(scores).all()),
             f"{name}.score must return one finite float per pair, got {scores!r}.")
    again = np.asarray(reranker.score(queries[::-1], texts[::-1]))[::-1]
    _require(bool(np.allclose(again, scores, rtol=1e-4, atol=1e-5)), f"{name}.score must score a pair the same in any batch.")
    _require(np.asarray(reranker.score([], [])).shape == (0,), f"{name}.score([], []) must return an empty array.")
    try:
        reranker.score(["q", "r"], ["t"])
    except RagkitError:
        pass
    else:
        raise ContractViolation(f"{name}.score accepted lists of different lengths; it must raise a RagkitError.")
