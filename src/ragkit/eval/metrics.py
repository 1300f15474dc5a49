"""Ranking metrics with the exact definitions of trec_eval (and so of pytrec_eval).

A *run* maps query id -> {doc id: score}; *qrels* map query id -> {doc id: grade}.
A document is relevant when its grade is > 0. Documents are ranked by score,
highest first; equal scores are ordered by doc id, descending, as trec_eval does.
Like trec_eval, scores are compared in single precision (float32): two scores that
round to the same float32 tie.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from ragkit.core.errors import ConfigError, InputError
from ragkit.core.validation import INT64_MAX, INT64_MIN, as_list
from ragkit.eval.checks import real_scores

__all__ = ["EvalResult", "evaluate", "METRIC_FORMS"]

logger = logging.getLogger(__name__)

#: The metric forms :func:`evaluate` accepts; ``k`` is an int >= 1.
METRIC_FORMS: tuple[str, ...] = ("ndcg@k", "recall@k", "precision@k", "mrr@k", "map@k")

_KINDS = tuple(form.split("@")[0] for form in METRIC_FORMS)
_METRIC_RE = re.compile(r" *([A-Za-z]+) *@ *([+-]?[0-9]+) *", re.ASCII)  # fullmatch: no newline, ASCII digits only

Run = Mapping[str, Mapping[str, float]]
Qrels = Mapping[str, Mapping[str, int]]


@dataclass(frozen=True, slots=True, repr=False)
class EvalResult:
    """Scores of a run: the mean of each metric and the value per query.

    ``num_queries`` counts the queries averaged over: those with at least one relevant
    judgement. ``num_missing`` of them were absent from the run and scored 0.

    Example:
        >>> r = evaluate({"q1": {"d1": 1.0}}, {"q1": {"d1": 1}}, metrics=("ndcg@10",))
        >>> r.means, r.num_queries
        ({'ndcg@10': 1.0}, 1)
    """

    means: dict[str, float]
    per_query: dict[str, dict[str, float]]
    num_queries: int
    num_missing: int = 0

    def __repr__(self) -> str:
        means = ", ".join(f"{name!r}: {value:.4f}" for name, value in self.means.items())
        return (
            f"EvalResult(num_queries={self.num_queries}, num_missing={self.num_missing}, "
            f"means={{{means}}})"
        )


def evaluate(
    run: Run,
    qrels: Qrels,
    metrics: Iterable[str] | str = ("ndcg@10", "recall@100"),
) -> EvalResult:
    """Score ``run`` against ``qrels`` with trec_eval's definitions.

    Metrics (``k`` is an int >= 1; names are case-insensitive, keys come back lower-case):

    - ``ndcg@k``: trec_eval ``ndcg_cut.k``; gain = grade (negative grades count 0),
      discount ``log2(rank + 1)``, ideal ranking built from all judged relevant documents.
    - ``recall@k``: relevant documents in the top k / all relevant documents.
    - ``precision@k``: relevant documents in the top k / k.
    - ``mrr@k``: 1 / rank of the first relevant document if it is within the top k, else 0.
    - ``map@k``: trec_eval ``map_cut.k``; sum of precision at each relevant rank <= k,
      divided by the number of relevant documents.

    Queries scored: every query of ``qrels`` with at least one relevant document. One
    that the run lacks scores 0 on every metric; run queries absent from ``qrels`` are
    ignored. Scores are compared after rounding to float32 (trec_eval stores them so);
    ties are broken by doc id, descending (as trec_eval does).

    Example:
        >>> run = {"q1": {"d1": 0.9, "d2": 0.5, "d3": 0.1}}
        >>> qrels = {"q1": {"d2": 1, "d3": 1}}
        >>> res = evaluate(run, qrels, metrics=("precision@2", "mrr@10", "recall@2"))
        >>> res.means
        {'precision@2': 0.5, 'mrr@10': 0.5, 'recall@2': 0.5}

    Raises:
        ConfigError: on an unknown metric name (ASCII letters ``@`` ASCII digits, spaces
            around allowed, nothing else), a ``k`` below 1 or beyond 64 bits, or no metrics.
        InputError: if ``run`` or ``qrels`` are not mappings of string ids, a grade is not
            an int, a score is not a real number (a bool, a str, a complex or None) or is
            NaN, or no query has a relevant document.
    """
    specs = _parse_metrics(metrics)
    _check_mapping("run", run)
    _check_mapping("qrels", qrels)
    max_k = max(k for _, _, k in specs)

    per_query: dict[str, dict[str, float]] = {}
    missing = 0
    for qid, judged in qrels.items():
        grades = _qrel_grades(qid, judged)
        ideal = np.sort(grades[grades > 0])[::-1]
        if ideal.size == 0:
            continue  # no relevant document: trec_eval-style averages leave it out
        ranked = run.get(qid)
        if ranked is None:
            missing += 1
            gains = np.empty(0, dtype=np.int64)
        else:
            gains = np.fromiter(
                (judged.get(doc_id, 0) for doc_id in _rank(qid, ranked, max_k)), dtype=np.int64
            )
        per_query[qid] = _score_query(gains, ideal, specs)

    if not per_query:
        raise InputError(
            "qrels hold no query with a relevant document (grade > 0); there is nothing to average."
        )
    if missing == len(per_query) and len(run) > 0:
        logger.warning(
            "None of the %d judged queries is in the run (run has %d other queries); check that "
            "query ids match (e.g. str vs int).", missing, len(run),
        )
    means = {
        name: math.fsum(values[name] for values in per_query.values()) / len(per_query)
        for name, _, _ in specs
    }
    return EvalResult(means=means, per_query=per_query, num_queries=len(per_query), num_missing=missing)


# -- parsing and checks ------------------------------------------------------------------


def _parse_metrics(metrics: Iterable[str] | str) -> list[tuple[str, str, int]]:
    """``[(canonical name, kind, k)]`` in the given order, duplicates dropped."""
    metrics = [metrics] if isinstance(metrics, str) else as_list("evaluate", metrics, "metric names (a str or a list of them)")
    specs: dict[str, tuple[str, str, int]] = {}
    valid = ", ".join(METRIC_FORMS)
    for metric in metrics:
        match = _METRIC_RE.fullmatch(metric) if isinstance(metric, str) else None
        kind = match.group(1).lower() if match else None
        if match is None or kind not in _KINDS:
            raise ConfigError(f"Unknown metric {metric!r}; valid: {valid} (k an int >= 1).")
        digits = match.group(2)
        k = int(digits) if len(digits.lstrip("+-").lstrip("0")) <= 19 else INT64_MAX + 1  # int() of 5000 digits raises
        if not 1 <= k <= INT64_MAX:
            shown = digits if len(digits) <= 40 else f"{digits[:20]}... ({len(digits)} digits)"
            raise ConfigError(f"Metric {metric if len(metric) <= 60 else metric[:40] + '...'!r}: k must be an int >= 1 "
                              f"(and at most {INT64_MAX}). Got {shown} instead.")
        name = f"{kind}@{k}"
        specs.setdefault(name, (name, kind, k))
    if not specs:
        raise ConfigError(f"No metrics requested; give at least one of {valid}.")
    return list(specs.values())


def _check_mapping(what: str, value: object) -> None:
    if not isinstance(value, Mapping):
        raise InputError(
            f"{what} must be a mapping of query id -> {{doc id: value}}. Got {type(value).__name__} instead."
        )
    for qid, inner in value.items():
        if not isinstance(qid, str):
            raise InputError(f"{what}: query ids must be strings. Got {qid!r} ({type(qid).__name__}).")
        if not isinstance(inner, Mapping):
            raise InputError(
                f"{what}[{qid!r}] must be a mapping of doc id -> value. Got {type(inner).__name__} instead."
            )


def _qrel_grades(qid: str, judged: Mapping[str, int]) -> np.ndarray:
    for doc_id, grade in judged.items():
        if not isinstance(doc_id, str):
            raise InputError(f"qrels[{qid!r}]: doc ids must be strings. Got {doc_id!r}.")
        if isinstance(grade, bool) or not isinstance(grade, (int, np.integer)) or not INT64_MIN <= grade <= INT64_MAX:
            raise InputError(
                f"qrels[{qid!r}][{doc_id!r}]: grade must be an int (64-bit). Got {grade!r} instead."
            )
    return np.fromiter(judged.values(), dtype=np.int64, count=len(judged))


def _rank(qid: str, ranked: Mapping[str, float], max_k: int) -> list[str]:
    """Doc ids of the best ``max_k`` entries: score descending, then doc id descending."""
    doc_ids = list(ranked.keys())
    if not all(isinstance(doc_id, str) for doc_id in doc_ids):
        bad = next(d for d in doc_ids if not isinstance(d, str))
        raise InputError(f"run[{qid!r}]: doc ids must be strings. Got {bad!r}.")
    scores = real_scores("evaluate", f"run[{qid!r}]", ranked.values())
    if scores.ndim != 1:  # lists as scores
        raise InputError(f"evaluate, run[{qid!r}]: each score must be one real number. Got {next(iter(ranked.values()))!r}.")
    if np.isnan(scores).any():
        bad = doc_ids[int(np.flatnonzero(np.isnan(scores))[0])]
        raise InputError(f"run[{qid!r}][{bad!r}] is NaN; scores must be comparable numbers.")
    with np.errstate(over="ignore"):  # trec_eval keeps scores as C floats: rank at that precision
        scores = scores.astype(np.float32)
    n = len(doc_ids)
    if n > max_k:
        # Keep everything scoring at least the max_k-th best score, so ties at the
        # cut-off are resolved by doc id like the rest.
        threshold = np.partition(scores, n - max_k)[n - max_k]
        keep = np.flatnonzero(scores >= threshold)
    else:
        keep = np.arange(n)
    pairs = sorted(zip(scores[keep].tolist(), (doc_ids[i] for i in keep), strict=True), reverse=True)
    return [doc_id for _, doc_id in pairs[:max_k]]


# -- scoring -----------------------------------------------------------------------------


def _score_query(gains: np.ndarray, ideal: np.ndarray, specs: list[tuple[str, str, int]]) -> dict[str, float]:
    """All metrics of one query from the grades of its ranked docs and its ideal grades."""
    n_rel = ideal.size
    n = gains.size
    ranks = np.arange(1, n + 1, dtype=np.float64)
    relevant = gains > 0
    dcg = np.cumsum(np.maximum(gains, 0) / np.log2(ranks + 1.0))
    hits = np.cumsum(relevant)
    ap = np.cumsum(np.where(relevant, hits / ranks, 0.0))
    idcg = np.cumsum(ideal / np.log2(np.arange(2, n_rel + 2, dtype=np.float64)))
    first = int(np.argmax(relevant)) if relevant.any() else None

    values: dict[str, float] = {}
    for name, kind, k in specs:
        m = min(k, n)  # ranked entries within the cut-off
        if kind == "mrr":
            value = 1.0 / (first + 1) if first is not None and first < k else 0.0
        elif m == 0:
            value = 0.0
        elif kind == "ndcg":
            value = dcg[m - 1] / idcg[min(k, n_rel) - 1]
        elif kind == "recall":
            value = hits[m - 1] / n_rel
        elif kind == "precision":
            value = hits[m - 1] / k
        else:  # map
            value = ap[m - 1] / n_rel
        values[name] = float(value)
    return values
