"""The fusion workbench: retrieve each leg's candidates once, then sweep fusion settings cheaply.

A :class:`FusionWorkbench` holds, for a fixed set of queries, every leg's top-N documents
with scores (the *candidate cache*). Fusing them under a :class:`FusionConfig` (RRF k,
weights, min-max / z-score / rank normalisation) is array arithmetic over all queries at
once, so trying hundreds of settings costs seconds and never touches a model or an index.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from ragkit.core.atomic import write_table_atomic
from ragkit.core.errors import ConfigError, IndexFormatError, InputError
from ragkit.core.results import LegScore
from ragkit.core.validation import as_path, check_int, check_str
from ragkit.eval.fusion_config import FusionConfig, fuse_segments
from ragkit.eval.metrics import EvalResult, evaluate

if TYPE_CHECKING:
    import pandas as pd

    from ragkit.core.protocols import Reranker
    from ragkit.search.protocols import Retriever

__all__ = ["FusionWorkbench", "FusedHit", "fusion_grid"]

_FORMAT = "ragkit-candidates"
_FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class FusedHit:
    """One fused document: its fused rank and score, and its rank and raw score in every leg.

    ``legs`` maps each fused leg's name to a :class:`~ragkit.core.results.LegScore`, or to
    ``None`` when that leg did not return the document.
    """

    doc_id: str
    rank: int
    score: float
    legs: Mapping[str, LegScore | None]


@dataclass(frozen=True, slots=True)
class _Leg:
    offsets: np.ndarray  # int64 (n_queries + 1,)
    docs: np.ndarray  # int64 document codes, best first within each query
    scores: np.ndarray  # float64


class FusionWorkbench:
    """A candidate cache over fixed queries, and fast fusion sweeps on top of it.

    Args:
        queries: query id -> text; every leg answers all of them.
        depth: documents kept per query and leg (and in a fused ranking), an int >= 1.

    Example:
        >>> wb = FusionWorkbench({"q1": "cats"}, depth=10)
        >>> wb.add_run("bm25", {"q1": {"d1": 7.0, "d2": 3.0}})
        >>> wb.add_run("dense", {"q1": {"d2": 0.9, "d3": 0.8}})
        >>> [h.doc_id for h in wb.hits("q1", FusionConfig(k=60))]
        ['d2', 'd1', 'd3']
        >>> wb.evaluate(FusionConfig(k=60), {"q1": {"d3": 1}}, ["mrr@10"]).means
        {'mrr@10': 0.3333333333333333}

    Raises:
        InputError: empty queries or non-string ids/texts.
        ConfigError: ``depth < 1``.
    """

    def __init__(self, queries: Mapping[str, str], *, depth: int = 100) -> None:
        if not isinstance(queries, Mapping) or not queries:
            raise InputError("FusionWorkbench needs a non-empty mapping of query id -> text.")
        for qid, text in queries.items():
            if not isinstance(qid, str) or not isinstance(text, str):
                raise InputError(f"FusionWorkbench: query ids and texts must be strings. Got {qid!r}: {text!r}.")
        self.queries: dict[str, str] = dict(queries)
        self.query_ids: list[str] = list(self.queries)
        self._query_pos = {qid: i for i, qid in enumerate(self.query_ids)}
        self.depth = check_int("FusionWorkbench", "depth", depth, low=1)
        self._doc_ids: list[str] = []
        self._doc_code: dict[str, int] = {}
        self._legs: dict[str, _Leg] = {}

    # -- filling the candidate cache --------------------------------------------------------

    @property
    def legs(self) -> list[str]:
        """Names of the legs, in the order they were added."""
        return list(self._legs)

    def add_retriever(self, name: str, retriever: Retriever, *, chunk_depth: int | None = None,
                      doc_ids: Sequence[str] | np.ndarray | None = None, batch_size: int = 256) -> None:
        """Run ``retriever`` once over all queries and cache its top documents as leg ``name``.

        The retriever returns chunk rows; each document keeps its best chunk's score (the
        trec-style document run). ``chunk_depth`` chunks are fetched per query (default
        ``3 * depth``) so that ``depth`` distinct documents usually remain. ``doc_ids`` maps
        chunk rows to document ids (default: the retriever's ``collection.chunks['doc_id']``).

        Raises:
            ConfigError: a leg named ``name`` exists, or the retriever has no collection and no ``doc_ids``.
        """
        from ragkit.eval.runs import doc_level_run

        chunk_depth = check_int("add_retriever", "chunk_depth", chunk_depth if chunk_depth is not None else 3 * self.depth,
                                low=1)
        if doc_ids is None:
            collection = getattr(retriever, "collection", None)
            if collection is None:
                raise ConfigError(f"add_retriever({name!r}): the retriever has no collection; pass doc_ids=.")
            doc_ids = collection.chunks.column("doc_id").to_numpy(zero_copy_only=False)
        row_doc = np.asarray(doc_ids, dtype=object)
        texts = [self.queries[q] for q in self.query_ids]
        per_doc: list[np.ndarray] = []
        per_score: list[np.ndarray] = []
        for start in range(0, len(texts), batch_size):
            for cands in retriever.retrieve(texts[start:start + batch_size], chunk_depth):
                per_doc.append(row_doc[cands.rows])
                per_score.append(cands.scores)
        self.add_run(name, doc_level_run(self.query_ids, per_doc, per_score))

    def add_run(self, name: str, run: Mapping[str, Mapping[str, float]]) -> None:
        """Cache a ready-made document run (query id -> {doc id: score}) as leg ``name``.

        Queries of the workbench missing from ``run`` get no candidates from this leg; run
        queries unknown to the workbench are ignored. Each query keeps its ``depth`` best.

        Raises:
            ConfigError: ``name`` is not a non-empty string or is taken.
            InputError: a score is not a finite number.
        """
        check_str("FusionWorkbench", "name", name)
        if name in self._legs:
            raise ConfigError(f"FusionWorkbench already has a leg named {name!r}; legs: {self.legs}.")
        docs: list[np.ndarray] = []
        scores: list[np.ndarray] = []
        counts = np.zeros(len(self.query_ids), dtype=np.int64)
        for i, qid in enumerate(self.query_ids):
            ranked = run.get(qid) or {}
            values = np.fromiter(ranked.values(), dtype=np.float64, count=len(ranked))
            if not np.isfinite(values).all():
                raise InputError(f"add_run({name!r}): query {qid!r} has a score that is not a finite number.")
            codes = np.fromiter((self._code(d) for d in ranked), dtype=np.int64, count=len(ranked))
            order = np.lexsort((codes, -values))[: self.depth]
            docs.append(codes[order])
            scores.append(values[order])
            counts[i] = order.size
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._legs[name] = _Leg(offsets, _concat(docs, np.int64), _concat(scores, np.float64))

    def _code(self, doc_id: str) -> int:
        code = self._doc_code.get(doc_id)
        if code is None:
            if not isinstance(doc_id, str):
                raise InputError(f"Document ids must be strings. Got {doc_id!r}.")
            code = self._doc_code[doc_id] = len(self._doc_ids)
            self._doc_ids.append(doc_id)
        return code

    # -- fusing and scoring -----------------------------------------------------------------

    def _resolve(self, config: FusionConfig) -> tuple[tuple[str, ...], np.ndarray]:
        if not isinstance(config, FusionConfig):
            raise ConfigError(f"Expected a FusionConfig. Got {type(config).__name__} instead.")
        if not self._legs:
            raise InputError("The workbench has no legs yet; add some with add_retriever() or add_run().")
        names = config.legs if config.legs is not None else tuple(self._legs)
        unknown = [n for n in names if n not in self._legs]
        if unknown:
            raise ConfigError(f"FusionConfig names unknown leg(s) {unknown}; the workbench has {self.legs}.")
        if config.weights is not None and len(config.weights) != len(names):
            raise ConfigError(f"FusionConfig has {len(config.weights)} weights for legs {list(names)}; give one per leg.")
        weights = np.ones(len(names)) if config.weights is None else np.asarray(config.weights, dtype=np.float64)
        return names, weights

    def fuse(self, config: FusionConfig, query_ids: Iterable[str] | None = None) -> dict[str, dict[str, float]]:
        """The fused document run (query id -> {doc id: score}, best first) under ``config``.

        ``query_ids`` limits the run to those queries (default: all).
        """
        offsets, docs, scores = self._fuse_arrays(config)
        ids = np.asarray(self._doc_ids, dtype=object)
        run: dict[str, dict[str, float]] = {}
        for qid in self.query_ids if query_ids is None else query_ids:
            i = self._query_pos[qid]
            lo, hi = offsets[i], offsets[i + 1]
            run[qid] = dict(zip(ids[docs[lo:hi]].tolist(), scores[lo:hi].tolist(), strict=True))
        return run

    def _fuse_arrays(self, config: FusionConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        names, weights = self._resolve(config)
        legs = [(self._legs[n].offsets, self._legs[n].docs, self._legs[n].scores) for n in names]
        return fuse_segments(legs, weights, config, len(self.query_ids), self.depth)

    def evaluate(self, config: FusionConfig, qrels: Mapping[str, Mapping[str, int]],
                 metrics: Iterable[str] | str = ("ndcg@10", "recall@100")) -> EvalResult:
        """Score the fused run on ``qrels`` (only the workbench queries that ``qrels`` judge).

        Raises:
            InputError: when no workbench query is judged in ``qrels``.
        """
        judged = {qid: rel for qid, rel in qrels.items() if qid in self._query_pos}
        if not judged:
            raise InputError("None of the workbench's queries is judged in these qrels; check the split and the query ids.")
        return evaluate(self.fuse(config, judged), judged, metrics)

    def sweep(self, configs: Iterable[FusionConfig], qrels: Mapping[str, Mapping[str, int]],
              metrics: Iterable[str] | str = ("ndcg@10", "recall@100")) -> pd.DataFrame:
        """One row per config: its fields (``label``, ``method``, ``rrf_k``, ``weights``...) and metric means.

        Needs pandas (``pip install 'ragkit[notebook]'``).
        """
        from ragkit.core.deps import require

        pd = require("pandas", extra="notebook")
        rows = []
        for config in configs:
            result = self.evaluate(config, qrels, metrics)
            rows.append({"label": config.label, **config.as_dict(), **result.means, "config": config})
        return pd.DataFrame(rows)

    def best(self, configs: Iterable[FusionConfig], qrels: Mapping[str, Mapping[str, int]],
             metric: str = "ndcg@10") -> tuple[FusionConfig, float]:
        """The config with the highest ``metric`` on ``qrels`` (first one on ties) and its value."""
        best: tuple[FusionConfig, float] | None = None
        for config in configs:
            value = self.evaluate(config, qrels, [metric]).means[metric.strip().lower().replace(" ", "")]
            if best is None or value > best[1]:
                best = (config, value)
        if best is None:
            raise ConfigError("best() got no configs to compare.")
        return best

    def rerank(self, config: FusionConfig, reranker: Reranker, documents: Mapping[str, str], *, depth: int = 20,
               query_ids: Iterable[str] | None = None,
               budget_ms: float | None = None) -> tuple[dict[str, dict[str, float]], np.ndarray]:
        """The fused run of ``config`` with each query's top ``depth`` documents reranked, and each query's rerank seconds.

        The same reranking as :class:`~ragkit.search.stages.Rerank` (:func:`~ragkit.search.stages.rerank.rerank_lists`),
        one query at a time (so the seconds are per query); ``documents`` maps document ids to
        the text the reranker reads. Documents below ``depth`` keep their fused order below.

        Raises:
            ConfigError: ``depth < 1``.
            InputError: a candidate document without a text in ``documents``.
        """
        from ragkit.core.results import Candidates
        from ragkit.search.stages.rerank import rerank_lists

        depth = check_int("FusionWorkbench.rerank", "depth", depth, low=1)
        budget = None if budget_ms is None else float(budget_ms) / 1e3
        offsets, docs, scores = self._fuse_arrays(config)
        ids = np.asarray(self._doc_ids, dtype=object)

        def passages(codes: np.ndarray) -> list[str]:
            missing = [d for d in ids[codes].tolist() if d not in documents]
            if missing:
                raise InputError(f"FusionWorkbench.rerank: no text for document {missing[0]!r} in documents.")
            return [documents[d] for d in ids[codes].tolist()]

        run: dict[str, dict[str, float]] = {}
        seconds = []
        for qid in self.query_ids if query_ids is None else query_ids:
            i = self._query_pos[qid]
            fused = Candidates(docs[offsets[i]:offsets[i + 1]], scores[offsets[i]:offsets[i + 1]])
            start = time.perf_counter()
            done = rerank_lists(reranker, [self.queries[qid]], [fused], passages, depth=depth, keep=len(fused),
                                budget_seconds=budget)
            seconds.append(time.perf_counter() - start)
            run[qid] = dict(zip(ids[done.candidates[0].rows].tolist(), done.candidates[0].scores.tolist(), strict=True))
        return run, np.asarray(seconds, dtype=np.float64)

    def hits(self, query_id: str, config: FusionConfig, k: int = 10) -> list[FusedHit]:
        """The top ``k`` fused documents of one query, each with its rank and score in every leg."""
        if query_id not in self._query_pos:
            raise InputError(f"Unknown query id {query_id!r}; the workbench has {len(self.query_ids)} queries.")
        check_int("hits", "k", k, low=1, error=InputError)
        names, _ = self._resolve(config)
        offsets, docs, scores = self._fuse_arrays(config)
        q = self._query_pos[query_id]
        lo, hi = int(offsets[q]), int(offsets[q + 1])
        per_leg: dict[str, dict[int, LegScore]] = {}
        for name in names:
            leg = self._legs[name]
            a, b = int(leg.offsets[q]), int(leg.offsets[q + 1])
            per_leg[name] = {int(d): LegScore(rank=r + 1, score=float(s))
                             for r, (d, s) in enumerate(zip(leg.docs[a:b].tolist(), leg.scores[a:b].tolist(), strict=True))}
        return [
            FusedHit(doc_id=self._doc_ids[int(d)], rank=r + 1, score=float(s),
                     legs={name: per_leg[name].get(int(d)) for name in names})
            for r, (d, s) in enumerate(zip(docs[lo:hi][:k].tolist(), scores[lo:hi][:k].tolist(), strict=True))
        ]

    # -- persistence ------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the candidate cache to one Arrow IPC file (atomically); returns the path."""
        rows_q, rows_leg, rows_doc, rows_score = [], [], [], []
        ids = np.asarray(self._doc_ids, dtype=object)
        qids = np.asarray(self.query_ids, dtype=object)
        for name, leg in self._legs.items():
            counts = np.diff(leg.offsets)
            rows_q.append(qids[np.repeat(np.arange(counts.size), counts)])
            rows_leg.append(np.full(leg.docs.size, name, dtype=object))
            rows_doc.append(ids[leg.docs])
            rows_score.append(leg.scores)
        table = pa.table({
            "leg": pa.array(_concat(rows_leg, object).tolist(), type=pa.string()),
            "query_id": pa.array(_concat(rows_q, object).tolist(), type=pa.string()),
            "doc_id": pa.array(_concat(rows_doc, object).tolist(), type=pa.string()),
            "score": pa.array(_concat(rows_score, np.float64), type=pa.float64()),
        })
        meta = {"format": _FORMAT, "format_version": _FORMAT_VERSION, "depth": self.depth,
                "legs": self.legs, "queries": self.queries}
        table = table.replace_schema_metadata({"ragkit": json.dumps(meta)})
        target = as_path("FusionWorkbench.save", path)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_table_atomic(target, table)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FusionWorkbench:
        """Read a candidate cache written by :meth:`save`.

        Raises:
            IndexFormatError: not a candidate file, or a newer format version.
        """
        try:
            with pa.memory_map(str(path)) as source:
                table = pa.ipc.open_file(source).read_all()
            meta = json.loads((table.schema.metadata or {}).get(b"ragkit", b"{}"))
        except (OSError, pa.ArrowException, ValueError) as exc:
            raise IndexFormatError(f"{path}: not a readable candidate file ({exc}).") from exc
        if meta.get("format") != _FORMAT:
            raise IndexFormatError(f"{path}: not a ragkit candidate file (written by FusionWorkbench.save).")
        if meta.get("format_version", 0) > _FORMAT_VERSION:
            raise IndexFormatError(f"{path}: format version {meta.get('format_version')} is newer than this ragkit "
                                   f"reads ({_FORMAT_VERSION}); upgrade ragkit.")
        bench = cls(meta["queries"], depth=int(meta["depth"]))
        legs = np.asarray(table.column("leg").to_pylist(), dtype=object)
        qids = table.column("query_id").to_pylist()
        docs = table.column("doc_id").to_pylist()
        scores = table.column("score").to_numpy()
        for name in meta["legs"]:
            run: dict[str, dict[str, float]] = {}
            for i in np.flatnonzero(legs == name).tolist():
                run.setdefault(qids[i], {})[docs[i]] = float(scores[i])
            bench.add_run(name, run)
        return bench

    def __repr__(self) -> str:
        return f"FusionWorkbench(queries={len(self.query_ids)}, depth={self.depth}, legs={self.legs})"


def _concat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.empty(0, dtype=dtype)


def fusion_grid(*, legs: tuple[str, ...] | None = None, rrf_k: Sequence[int] = (),
                weights: Sequence[tuple[float, ...] | None] = (None,),
                normalizations: Sequence[str] = ()) -> list[FusionConfig]:
    """Every combination of RRF ``k`` x ``weights`` and of score ``normalizations`` x ``weights``.

    Example:
        >>> len(fusion_grid(rrf_k=[20, 60], weights=[None, (1.0, 2.0)], normalizations=["minmax"]))
        6
    """
    configs = [FusionConfig(legs=legs, method="rrf", k=k, weights=w) for k in rrf_k for w in weights]
    configs += [FusionConfig(legs=legs, method="score", normalization=n, weights=w)  # type: ignore[arg-type]
                for n in normalizations for w in weights]
    return configs
