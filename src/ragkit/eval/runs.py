"""Build evaluation runs from retrieval output."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ragkit.core.errors import InputError
from ragkit.core.validation import is_int
from ragkit.eval.checks import id_sequence, real_scores

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
        InputError: if one of the three is a bare string (not read as characters), a set or
            not iterable, or they differ in length; a query id repeats or is not a string;
            a query's doc ids and scores differ in length; a doc id is not a string; or a
            score is not a real number (a bool, a str, a complex or None) or is NaN.
            Generators are accepted (read once).
    """
    return _pooled_run("doc_level_run", "doc_ids_per_query", query_ids, doc_ids_per_query, scores_per_query)


def _pooled_run(owner: str, ids_name: str, query_ids: Any, ids_per_query: Any, scores_per_query: Any) -> dict[str, dict[str, float]]:
    """:func:`doc_level_run` for ``owner``, whose ids come as ``ids_name`` (``"doc_ids_per_query"`` or ``"chunk_..."``)."""
    noun = ids_name.partition("_")[0]  # "doc" or "chunk", for the messages
    qids = id_sequence(owner, "'query_ids'", query_ids, "a sequence of query ids")
    per_id = id_sequence(owner, repr(ids_name), ids_per_query, f"one sequence of {noun} ids per query")
    per_score = id_sequence(owner, "'scores_per_query'", scores_per_query, "one sequence of scores per query")
    n = len(qids)
    if len(per_id) != n or len(per_score) != n:
        raise InputError(
            f"{owner}: query_ids, {ids_name} and scores_per_query must have one entry per query. "
            f"Got lengths {n}, {len(per_id)} and {len(per_score)}."
        )
    run: dict[str, dict[str, float]] = {}
    for i, (qid, ids, scores) in enumerate(zip(qids, per_id, per_score, strict=True)):
        if not isinstance(qid, str):
            raise InputError(f"Query ids must be strings. Got {qid!r} ({type(qid).__name__}).")
        if qid in run:
            raise InputError(f"Query id {qid!r} appears more than once in query_ids.")
        where = f"[{i}] (query {qid!r})"
        run[qid] = _best_per_id(id_sequence(owner, ids_name + where, ids, f"a sequence of {noun} ids"),
                                real_scores(owner, "scores_per_query" + where, scores), f"Query {qid!r}", noun)
    return run


def _best_per_id(ids: list[Any], values: np.ndarray, where: str, noun: str) -> dict[str, float]:
    if values.ndim != 1 or values.shape[0] != len(ids):
        raise InputError(
            f"{where}: got {len(ids)} {noun} ids but scores of shape {values.shape}; "
            "give one score per chunk hit."
        )
    if not ids:
        return {}
    if not all(isinstance(d, str) for d in ids):
        bad = next(d for d in ids if not isinstance(d, str))
        raise InputError(f"{where}: {noun} ids must be strings. Got {bad!r} ({type(bad).__name__}).")
    if np.isnan(values).any():
        raise InputError(f"{where}: a score is NaN; scores must be comparable numbers.")
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
    return _pooled_run("chunk_level_run", "chunk_ids_per_query", query_ids, chunk_ids_per_query, scores_per_query)


def chunk_ids(doc_ids: Sequence[str] | np.ndarray, positions: Sequence[int] | np.ndarray) -> np.ndarray:
    """``"<doc_id>#<position>"`` for each chunk row (e.g. from a collection's chunk table).

    Example:
        >>> chunk_ids(["a", "a", "b"], [0, 1, 0]).tolist()
        ['a#0', 'a#1', 'b#0']

    Raises:
        InputError: ``doc_ids`` or ``positions`` is a bare string or not a flat sequence,
            they differ in length, a doc id is not a string, or a position is not an int
            (a bool or a float is refused).
    """
    docs = _flat("doc_ids", doc_ids, "a sequence of doc ids (str)")
    pos = _flat("positions", positions, "a sequence of chunk positions (int)")
    if len(docs) != len(pos):
        raise InputError(f"chunk_ids takes one position per doc id. Got {len(docs)} doc ids and {len(pos)} positions.")
    bad_doc = next((d for d in docs if not isinstance(d, str)), None)
    if bad_doc is not None:
        raise InputError(f"The 'doc_ids' parameter of chunk_ids must hold strings. Got {bad_doc!r} ({type(bad_doc).__name__}).")
    if isinstance(pos, np.ndarray) and pos.dtype.kind in "iu":
        pos_text = pos.astype(str).astype(object)
    else:  # a list, or an array of another dtype: each position an int, never a bool or a float
        bad = next((p for p in pos if not is_int(p)), None)
        if bad is not None:
            raise InputError(f"The 'positions' parameter of chunk_ids must hold ints (not bools or floats). Got {bad!r} instead.")
        pos_text = np.array([str(int(p)) for p in pos], dtype=object)
    return np.asarray(docs, dtype=object) + "#" + pos_text


def _flat(name: str, value: Any, what: str) -> np.ndarray | list[Any]:
    """An array as it is (if 1-D), anything else through :func:`id_sequence` as a list."""
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            raise InputError(f"The {name!r} parameter of chunk_ids must be {what}, one entry per chunk. Got shape {value.shape}.")
        return value
    return id_sequence("chunk_ids", repr(name), value, what)
