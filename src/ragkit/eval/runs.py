"""Build evaluation runs from retrieval output."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ragkit.core.errors import InputError

__all__ = ["chunk_ids", "chunk_level_run", "doc_level_run"]


def doc_level_run(
    query_ids: Sequence[str],
    doc_ids_per_query: Sequence[Sequence[str] | np.ndarray],
    scores_per_query: Sequence[Sequence[float] | np.ndarray],
) -> dict[str, dict[str, float]]:
    """Turn chunk hits into a document run: each document keeps its best chunk's score.

    Entry ``i`` of ``doc_ids_per_query`` gives, for query ``query_ids[i]``, the document
    id of each chunk hit, and entry ``i`` of ``scores_per_query`` the matching scores.
    The result maps query id -> {doc id: max chunk score}, best document first, ready
    for :func:`ragkit.eval.evaluate`. A query with no hits maps to ``{}``.

    Example:
        >>> doc_level_run(["q1"], [["a", "b", "a"]], [[0.2, 0.5, 0.9]])
        {'q1': {'a': 0.9, 'b': 0.5}}

    Raises:
        InputError: if the three sequences differ in length, a query id repeats or is not
            a string, a query's doc ids and scores differ in length, a doc id is not a
            string, or a score is not a number or is NaN.
    """
    n = len(query_ids)
    if len(doc_ids_per_query) != n or len(scores_per_query) != n:
        raise InputError(
            "query_ids, doc_ids_per_query and scores_per_query must have one entry per query. "
            f"Got lengths {n}, {len(doc_ids_per_query)} and {len(scores_per_query)}."
        )
    run: dict[str, dict[str, float]] = {}
    for qid, doc_ids, scores in zip(query_ids, doc_ids_per_query, scores_per_query, strict=True):
        if not isinstance(qid, str):
            raise InputError(f"Query ids must be strings. Got {qid!r} ({type(qid).__name__}).")
        if qid in run:
            raise InputError(f"Query id {qid!r} appears more than once in query_ids.")
        run[qid] = _best_per_doc(qid, doc_ids, scores)
    return run


def _best_per_doc(
    qid: str, doc_ids: Sequence[str] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> dict[str, float]:
    ids = list(doc_ids)
    try:
        values = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"Query {qid!r}: scores must be real numbers.") from None
    if values.ndim != 1 or values.shape[0] != len(ids):
        raise InputError(
            f"Query {qid!r}: got {len(ids)} doc ids but scores of shape {values.shape}; "
            "give one score per chunk hit."
        )
    if not ids:
        return {}
    if not all(isinstance(d, str) for d in ids):
        bad = next(d for d in ids if not isinstance(d, str))
        raise InputError(f"Query {qid!r}: doc ids must be strings. Got {bad!r} ({type(bad).__name__}).")
    if np.isnan(values).any():
        raise InputError(f"Query {qid!r}: a score is NaN; scores must be comparable numbers.")
    # Group hits by document (object array keeps ids exactly as given), then max-pool.
    unique, inverse = np.unique(np.array(ids, dtype=object), return_inverse=True)
    best = np.full(unique.shape[0], -np.inf)
    np.maximum.at(best, inverse.reshape(-1), values)
    order = np.argsort(-best, kind="stable")
    return dict(zip(unique[order].tolist(), best[order].tolist(), strict=True))


def chunk_level_run(
    query_ids: Sequence[str],
    chunk_ids_per_query: Sequence[Sequence[str] | np.ndarray],
    scores_per_query: Sequence[Sequence[float] | np.ndarray],
) -> dict[str, dict[str, float]]:
    """A chunk run: query id -> {chunk id: score}, for qrels judged at chunk level.

    Chunk ids are whatever the qrels use, e.g. ``f"{doc_id}#{position}"`` (see
    :func:`chunk_ids`). A chunk listed twice keeps its best score.

    Example:
        >>> chunk_level_run(["q1"], [["a#0", "a#1"]], [[0.2, 0.5]])
        {'q1': {'a#1': 0.5, 'a#0': 0.2}}

    Raises:
        InputError: as :func:`doc_level_run`.
    """
    return doc_level_run(query_ids, chunk_ids_per_query, scores_per_query)


def chunk_ids(doc_ids: Sequence[str] | np.ndarray, positions: Sequence[int] | np.ndarray) -> np.ndarray:
    """``"<doc_id>#<position>"`` for each chunk row (e.g. from a collection's chunk table).

    Example:
        >>> chunk_ids(["a", "a", "b"], [0, 1, 0]).tolist()
        ['a#0', 'a#1', 'b#0']
    """
    docs = np.asarray(doc_ids, dtype=object)
    pos = np.asarray(positions).astype(str).astype(object)
    return docs + "#" + pos
