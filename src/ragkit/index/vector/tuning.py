"""Recall-targeted tuning: the fastest search breadth that meets a recall@k target."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from ragkit.core.deps import require
from ragkit.core.results import Candidates
from ragkit.index.vector.engine import has_parameter

__all__ = ["TuningPoint", "TuningResult", "recall_at_k", "sampled_target", "sweep", "widening_sweep", "SAMPLED_MARGIN", "NPROBE_GRID",
           "EF_SEARCH_GRID", "RESCORE_GRID", "drop_own", "exact_truth", "found_ids", "tuning_grid", "tuning_queries"]

NPROBE_GRID = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 2048, 4096)
EF_SEARCH_GRID = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
#: Candidate multiples tried when compressed codes miss the recall target.
RESCORE_GRID = (8, 16, 32, 64)


@dataclass(frozen=True, slots=True)
class TuningPoint:
    """One measured setting: the parameter value, recall@k against exact search, latency."""

    value: int
    recall: float
    ms_per_query: float


@dataclass(frozen=True, slots=True)
class TuningResult:
    """The recall/latency curve of a tuning run and the setting it chose.

    ``chosen`` is the fastest value whose recall meets ``target_recall``; when none does,
    ``met`` is False and ``chosen`` is the value with the best recall.
    """

    parameter: str
    chosen: int | None
    target_recall: float
    k: int
    met: bool
    n_queries: int
    curve: tuple[TuningPoint, ...]
    rescore: int | None = None  # for compressed codes: candidates re-ranked exactly, as a multiple of k

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["curve"] = [asdict(p) for p in self.curve]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TuningResult:
        return cls(**{**data, "curve": tuple(TuningPoint(**p) for p in data["curve"])})

    def rows(self) -> list[dict[str, Any]]:
        """The curve as records (``pandas.DataFrame(result.rows())`` for a notebook plot)."""
        return [{self.parameter: p.value, "recall": p.recall, "ms_per_query": p.ms_per_query} for p in self.curve]


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean fraction of each query's true top-k found in its returned top-k (rows of ids; -1 = none)."""
    k = truth.shape[1]
    hits = [np.intersect1d(f[f >= 0], t[t >= 0]).shape[0] for f, t in zip(found, truth, strict=True)]
    return float(np.sum(hits) / (k * truth.shape[0]))


def sweep(search: Callable[[int], np.ndarray], truth: np.ndarray, grid: Sequence[int], parameter: str,
          target_recall: float, *, n_queries: int, repeats: int = 2) -> TuningResult:
    """Measure ``search(value)`` (returns ids, shape like ``truth``) over ``grid`` in increasing order.

    The chosen value is the smallest (search cost grows with breadth; timings of a
    sample are too noisy to rank settings of near-equal cost) whose recall meets the
    target. The sweep stops once recall reaches 0.999, or has stopped improving for two
    steps (by 0.001 while below the target). Latency is the best of ``repeats`` runs of the whole batch.
    """
    points: list[TuningPoint] = []
    for value in grid:
        best = np.inf
        for _ in range(repeats):
            start = time.perf_counter()
            found = search(value)
            best = min(best, time.perf_counter() - start)
        points.append(TuningPoint(int(value) if value is not None else 0, recall_at_k(found, truth),
                                  1000 * best / n_queries))
        recalls = [p.recall for p in points]
        if recalls[-1] >= 0.999:
            break
        if len(recalls) >= 3 and recalls[-1] <= max(recalls[:-2]) + (1e-9 if recalls[-1] >= target_recall else 1e-3):
            break  # no longer improving (below the target: a wider search will not reach it)
    meeting = [p for p in points if p.recall >= target_recall]
    if meeting:
        chosen = meeting[0]
        met = True
    else:
        chosen = max(points, key=lambda p: (p.recall, -p.ms_per_query))
        met = False
    return TuningResult(parameter, chosen.value, target_recall, truth.shape[1], met, n_queries, tuple(points))


def widening_sweep(search: Callable[[int], np.ndarray], truth: np.ndarray, grid: Sequence[int], parameter: str,
                   target_recall: float, *, n_queries: int, rescore: int, widen: Callable[[int], None]) -> TuningResult:
    """:func:`sweep`; then, for compressed codes re-scored ``rescore`` times over (0: not re-scored), while
    the target is unmet, ``widen(factor)`` the exact re-scoring through :data:`RESCORE_GRID` and sweep again."""
    result = sweep(search, truth, grid, parameter, target_recall, n_queries=n_queries)
    if not rescore:
        return result
    for factor in (f for f in RESCORE_GRID if f > rescore):
        if result.met:
            break
        widen(factor)
        rescore = factor
        result = sweep(search, truth, grid, parameter, target_recall, n_queries=n_queries)
    return replace(result, rescore=rescore)


def tuning_grid(index: Any) -> tuple[str, list[Any]]:
    """The search parameter to sweep on ``index`` and its values (``("none", [None])`` for exact indexes)."""
    if has_parameter(index, "nprobe"):
        faiss = require("faiss", package="faiss-cpu")
        nlist = int(faiss.extract_index_ivf(index).nlist)
        return "nprobe", [v for v in NPROBE_GRID if v <= nlist]
    if has_parameter(index, "efSearch"):
        return "efSearch", list(EF_SEARCH_GRID)
    return "none", [None]


#: Without real queries, tuning on stored rows aims this many times closer to recall 1 than asked: stored rows
#: are easier queries than real ones (on SciFact with all-MiniLM-L6-v2, an IVF index tuned to 0.95 on its rows
#: reached 0.90 on the real test queries; aiming at 0.98 on rows reached 0.95).
SAMPLED_MARGIN = 2.5


def sampled_target(target_recall: float) -> float:
    """The recall a tuning run on stored rows aims at so that real queries meet ``target_recall``."""
    return 1.0 - (1.0 - target_recall) / SAMPLED_MARGIN


def tuning_queries(vectors: np.ndarray, alive: np.ndarray, queries: Any, sample: int, seed: int) -> tuple[Any, np.ndarray | None]:
    """The queries of a tuning run and, when none are given, the rows of the ``sample`` stored ``alive`` rows
    (drawn with ``seed``) that serve as held-out queries instead (``None`` for given queries)."""
    if queries is not None:
        return queries, None
    rows = np.random.default_rng(seed).choice(alive, size=min(sample, alive.size), replace=False)
    return np.ascontiguousarray(vectors[rows]), rows


def exact_truth(queries: np.ndarray, vectors: np.ndarray, alive: np.ndarray, k: int) -> np.ndarray:
    """The true top-``k`` rows (by inner product) among the ``alive`` rows of ``vectors``, per query."""
    faiss = require("faiss", package="faiss-cpu")
    _, positions = faiss.knn(queries, np.ascontiguousarray(vectors[alive]), k, metric=faiss.METRIC_INNER_PRODUCT)
    return alive[positions]  # type: ignore[no-any-return]


def found_ids(found: list[Candidates], width: int) -> np.ndarray:
    """The rows of each query's candidates as a (queries, width) array, padded with -1."""
    ids = np.full((len(found), width), -1, dtype=np.int64)
    for i, c in enumerate(found):
        ids[i, : len(c)] = c.rows
    return ids


def drop_own(found: np.ndarray, own: np.ndarray | None, k: int) -> np.ndarray:
    """The first ``k`` ids per query, without the query's own row when queries are held-out rows (``own``)."""
    if own is None:
        return found[:, :k]
    out = np.full((found.shape[0], k), -1, dtype=np.int64)
    for i, (row, mine) in enumerate(zip(found, own, strict=True)):
        kept = row[row != mine][:k]
        out[i, : kept.shape[0]] = kept
    return out
