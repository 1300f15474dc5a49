"""``check_retriever``: the contract every retriever and wrapper satisfies, so they stack in any order.

In the spirit of scikit-learn's ``check_estimator``: give it a retriever (built-in, a
wrapper, a stack of wrappers, or yours) over a small collection and it runs the same
checks on all of them, raising :class:`ContractViolation` naming the first that fails.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ragkit.core.errors import InputError, RagkitError
from ragkit.core.results import Candidates, Hit
from ragkit.observe.trace import Trace
from ragkit.search.protocols import Retriever
from ragkit.store.access import Principal
from ragkit.testing.contract import ContractViolation

__all__ = ["check_retriever"]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ContractViolation(message)


def _key(hits: Sequence[Hit]) -> list[tuple[int, float]]:
    return [(h.chunk_row, round(h.score, 9)) for h in hits]


def check_retriever(retriever: Any, queries: Sequence[str], *, k: int = 3, principal: Principal | None = None) -> None:
    """Check ``retriever`` against the retriever contract; raise :class:`ContractViolation` on the first failure.

    Args:
        retriever: the retriever or wrapper to check (bound or not).
        queries: at least two queries that find something in its collection.
        k: the depth searched.
        principal: when given, ``retriever.bind(principal)`` is checked too.
    """
    name = type(retriever).__name__
    _require(isinstance(retriever, Retriever), f"{name} lacks part of the retriever shape "
             "(name, principal, generation, search, search_batch, retrieve, bind).")
    queries = list(queries)
    _require(len(queries) >= 2, "check_retriever needs at least two queries.")
    generation = retriever.generation
    _require(isinstance(generation, tuple), f"{name}.generation must be a tuple, got {type(generation).__name__}.")
    hash(generation)

    batch = retriever.search_batch(queries, k)
    _require(isinstance(batch, list) and len(batch) == len(queries), f"{name}.search_batch must return one list per query.")
    for q, hits in enumerate(batch):
        _require(all(isinstance(h, Hit) for h in hits), f"{name}.search_batch must return Hit records.")
        _require(len(hits) <= k, f"{name} returned {len(hits)} hits for k={k}.")
        scores = [h.score for h in hits]
        _require(all(a >= b for a, b in itertools.pairwise(scores)), f"{name}: hits of query {q} are not best first.")
        rows = [h.chunk_row for h in hits]
        _require(len(set(rows)) == len(rows), f"{name}: a row appears twice in the hits of query {q}.")
    _require(any(batch), f"{name} found nothing for any of the queries; give queries that match the collection.")
    _require(_key(retriever.search(queries[0], k)) == _key(batch[0]), f"{name}.search(q) differs from search_batch([q])[0].")
    _require([_key(h) for h in retriever.search_batch(queries, k)] == [_key(h) for h in batch],
             f"{name}: the same search twice gave different results.")

    rows = retriever.retrieve(queries, k)
    _require(len(rows) == len(queries) and all(isinstance(c, Candidates) for c in rows),
             f"{name}.retrieve must return one Candidates per query.")
    for c, hits in zip(rows, batch, strict=True):
        _require(c.rows.tolist() == [h.chunk_row for h in hits], f"{name}.retrieve rows differ from its hits' rows.")
        np.testing.assert_allclose(c.scores, [h.score for h in hits], rtol=1e-9, err_msg=f"{name}.retrieve scores")

    trace = Trace()
    traced = retriever.search_batch(queries, k, trace=trace)
    _require([_key(h) for h in traced] == [_key(h) for h in batch], f"{name}: a trace changed the results.")
    _require(trace.total is not None and bool(trace.stages), f"{name}: the trace was not recorded.")
    collection = getattr(retriever, "collection", None)
    if collection is not None and getattr(collection, "embedder", None) is not None:
        vectors = collection.embed_queries(queries)
        given = retriever.search_batch(queries, k, query_vectors=vectors)
        _require([_key(h) for h in given] == [_key(h) for h in batch], f"{name}: query_vectors changed the results.")

    first = next(h for hits in batch for h in hits)
    only = retriever.search_batch(queries, k, filters={"doc_id": first.doc_id})
    _require(all(h.doc_id == first.doc_id for hits in only for h in hits), f"{name}: a doc_id filter let other documents through.")
    _require(any(only), f"{name}: a filter on a document it found returned nothing.")

    for bad, what in (([""], "an empty query"), (queries[0], "a bare str to search_batch")):
        try:
            retriever.search_batch(bad, k)
        except InputError:
            pass
        else:
            raise ContractViolation(f"{name}.search_batch accepted {what}; it must raise InputError.")
    try:
        retriever.search(queries[0], 0)
    except InputError:
        pass
    else:
        raise ContractViolation(f"{name}.search accepted k=0; it must raise InputError.")
    _require(retriever.generation == generation, f"{name}.generation changed without any change to the collection.")

    if principal is not None:
        before = retriever.principal
        bound = retriever.bind(principal)
        _require(type(bound) is type(retriever), f"{name}.bind must return a {name}, got {type(bound).__name__}.")
        _require(bound is not retriever and retriever.principal == before, f"{name}.bind must not change the original.")
        _require(bound.principal == principal, f"{name}.bind(p).principal must be p.")
        try:
            bound.search_batch(queries, k)
        except RagkitError as exc:
            raise ContractViolation(f"{name}.bind(p) cannot search: {exc}") from exc
