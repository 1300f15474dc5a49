"""Experiments: a list or grid of retrieval configurations -> one table row each.

Each :class:`Experiment` names a dense setup (model, prompts, chunker), a BM25 setup
(chunker, or whole documents) and a fusion. :func:`run_experiments` builds each distinct
setup once (embeddings through a :class:`~ragkit.embedding.cache.CachedEmbedder`, so a
chunking or model already seen is never re-encoded), retrieves every leg's candidates once,
and scores every fusion on the :class:`~ragkit.eval.workbench.FusionWorkbench`.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ragkit.chunking.batch import chunk_documents
from ragkit.core.deps import require
from ragkit.core.errors import ConfigError, InputError
from ragkit.core.protocols import Chunker, Embedder, Reranker
from ragkit.core.validation import check_int
from ragkit.embedding.cache import CachedEmbedder
from ragkit.eval.fusion_config import FusionConfig
from ragkit.eval.metrics import evaluate
from ragkit.eval.runs import doc_level_run
from ragkit.eval.workbench import FusionWorkbench
from ragkit.search.stages.rerank import DEFAULT_RERANK_DEPTH

if TYPE_CHECKING:
    import pandas as pd

    from ragkit.eval.beir import BeirDataset

__all__ = ["Experiment", "experiment_grid", "experiment_workbench", "run_experiments"]

logger = logging.getLogger(__name__)

_LEGS = ("bm25", "dense")


@dataclass(frozen=True, kw_only=True)
class Experiment:
    """One retrieval configuration to evaluate.

    Args:
        legs: which legs run: ``("bm25", "dense")`` (hybrid), ``("bm25",)`` or ``("dense",)``.
        model: a sentence-transformers model name or local path, or any Embedder object.
        query_prompt / document_prompt: prompts for a model given by name (``None``: the
            model family's default, see :func:`ragkit.embedding.prompts.default_prompts`).
        chunker: how documents are cut for the dense leg (default ``RecursiveChunker(254, overlap=32)``).
        bm25_chunker: how documents are cut for BM25; ``None`` indexes whole documents.
        fusion: how the legs are fused (ignored for one leg).
        rerank: a cross-encoder model name or local folder, or any Reranker object, that
            reranks each query's top ``rerank_depth`` fused documents (``None``: no reranking).
        rerank_depth: documents reranked per query (an int >= 1).
        name: the row label; default built from the fields.

    Example:
        >>> Experiment(legs=("bm25",)).label
        'bm25'

    Raises:
        ConfigError: on unknown legs or a chunker / embedder / fusion of the wrong kind.
    """

    legs: tuple[str, ...] = _LEGS
    model: str | Embedder = "sentence-transformers/all-MiniLM-L6-v2"
    query_prompt: str | None = None
    document_prompt: str | None = None
    chunker: Chunker | None = None
    bm25_chunker: Chunker | None = None
    fusion: FusionConfig = field(default_factory=FusionConfig)
    rerank: str | Reranker | None = None
    rerank_depth: int = DEFAULT_RERANK_DEPTH
    name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.legs, tuple) or not self.legs or any(leg not in _LEGS for leg in self.legs) \
                or len(set(self.legs)) != len(self.legs):
            raise ConfigError(f"The 'legs' parameter of Experiment must be a non-empty tuple of distinct names from "
                              f"{_LEGS}. Got {self.legs!r} instead.")
        if not isinstance(self.model, str) and not isinstance(self.model, Embedder):
            raise ConfigError(f"The 'model' parameter of Experiment must be a model name, a path or an Embedder. "
                              f"Got {type(self.model).__name__} instead.")
        for name in ("chunker", "bm25_chunker"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Chunker):
                raise ConfigError(f"The {name!r} parameter of Experiment must be a Chunker or None. Got {value!r} instead.")
        if not isinstance(self.fusion, FusionConfig):
            raise ConfigError(f"The 'fusion' parameter of Experiment must be a FusionConfig. Got {self.fusion!r} instead.")
        if self.fusion.legs is not None:
            raise ConfigError("Experiment.fusion must not name legs (Experiment.legs does); leave FusionConfig.legs=None.")
        if self.rerank is not None and not isinstance(self.rerank, (str, Reranker)):
            raise ConfigError(f"The 'rerank' parameter of Experiment must be a model name, a path, a Reranker or None. "
                              f"Got {type(self.rerank).__name__} instead.")
        object.__setattr__(self, "rerank_depth", check_int("Experiment", "rerank_depth", self.rerank_depth, low=1))

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        base = self.legs[0] if len(self.legs) == 1 else f"hybrid {self.fusion.label}"
        return base if self.rerank is None else f"{base} + rerank@{self.rerank_depth}"


def experiment_grid(**axes: Sequence[Any]) -> list[Experiment]:
    """Every combination of the given :class:`Experiment` fields.

    Example:
        >>> grid = experiment_grid(legs=[("bm25",), ("bm25", "dense")],
        ...                        fusion=[FusionConfig(k=10), FusionConfig(k=60)])
        >>> len(grid)
        4

    Raises:
        ConfigError: on a field Experiment does not have, or an axis that is not a list.
    """
    valid = set(Experiment.__dataclass_fields__)
    unknown = set(axes) - valid
    if unknown:
        raise ConfigError(f"experiment_grid got unknown field(s) {sorted(unknown)}; valid: {sorted(valid)}.")
    for name, values in axes.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ConfigError(f"experiment_grid: {name!r} must be a non-empty list of values. Got {values!r} instead.")
    names = list(axes)
    return [Experiment(**dict(zip(names, combo, strict=True))) for combo in itertools.product(*axes.values())]


@dataclass
class _LegResult:
    run: dict[str, dict[str, float]]
    latency_s: np.ndarray  # one entry per timed query
    index_bytes: int
    rows: int


def run_experiments(
    dataset: BeirDataset,
    experiments: Iterable[Experiment],
    *,
    metrics: Sequence[str] = ("ndcg@10", "recall@100"),
    depth: int = 100,
    latency_queries: int = 100,
    cache_dir: str | os.PathLike[str] | None = None,
    qrels: Mapping[str, Mapping[str, int]] | None = None,
) -> pd.DataFrame:
    """Evaluate each experiment on ``dataset``; one DataFrame row per experiment.

    Columns: ``experiment`` (label), ``legs``, ``model``, ``chunker``, ``bm25_chunker``, the
    fusion fields, each metric, ``rerank`` / ``rerank_depth`` / ``rerank_p50_ms`` /
    ``rerank_p95_ms`` (reranking time per judged query, 0 without a reranker),
    ``latency_p50_ms`` / ``latency_p95_ms`` (per query, legs one after the other, measured
    on the first ``latency_queries`` queries with real query encoding; fusion adds its
    per-query share of the workbench's time, reranking its median per query), ``index_bytes``
    (saved FAISS + BM25 files of the legs used) and ``chunks``.

    Document vectors go through a :class:`~ragkit.embedding.cache.CachedEmbedder` in
    ``cache_dir`` (default ``$RAGKIT_CACHE_DIR/embeddings`` or ``~/.cache/ragkit/embeddings``).
    ``qrels`` default to the dataset's. Needs pandas (``pip install 'ragkit[notebook]'``).

    Example:
        >>> table = run_experiments(load_beir("scifact"), experiment_grid(
        ...     fusion=[FusionConfig(k=k) for k in (10, 60)]))          # doctest: +SKIP

    Raises:
        ConfigError: no experiments, ``depth`` or ``latency_queries`` < 1.
        InputError: the dataset has no queries.
    """
    pd = require("pandas", extra="notebook")
    experiments = list(experiments)
    if not experiments:
        raise ConfigError("run_experiments got no experiments; give a list or experiment_grid(...).")
    for e in experiments:
        if not isinstance(e, Experiment):
            raise ConfigError(f"run_experiments expects Experiment objects. Got {type(e).__name__} instead.")
    check_int("run_experiments", "depth", depth, low=1)
    check_int("run_experiments", "latency_queries", latency_queries, low=1)
    if not dataset.queries:
        raise InputError("The dataset has no queries to evaluate.")
    qrels = dataset.qrels if qrels is None else qrels
    cache = Path(cache_dir) if cache_dir is not None else None
    legs_done: dict[str, _LegResult] = {}
    rerankers: dict[str, Reranker] = {}
    rows = []
    for exp in experiments:
        bench = FusionWorkbench(dataset.queries, depth=depth)
        leg_results = {}
        for leg in exp.legs:
            key = _leg_key(exp, leg)
            if key not in legs_done:
                logger.info("experiments: building leg %s", key)
                legs_done[key] = _run_leg(dataset, exp, leg, depth, latency_queries, cache)
            leg_results[leg] = legs_done[key]
            bench.add_run(leg, legs_done[key].run)
        start = time.perf_counter()
        result = bench.evaluate(exp.fusion, qrels, metrics)
        fuse_per_query = (time.perf_counter() - start) / len(dataset.queries) if len(exp.legs) > 1 else 0.0
        rerank_s = np.zeros(1)
        if exp.rerank is not None:
            judged = [q for q in bench.query_ids if q in qrels]
            reranked, rerank_s = bench.rerank(exp.fusion, _reranker(exp.rerank, rerankers), _texts(dataset),
                                              depth=exp.rerank_depth, query_ids=judged)
            result = evaluate(reranked, {q: qrels[q] for q in judged}, metrics)
        latency = sum(r.latency_s for r in leg_results.values()) + fuse_per_query + float(np.median(rerank_s))
        rows.append({
            "experiment": exp.label,
            "legs": "+".join(exp.legs),
            "model": _model_name(exp) if "dense" in exp.legs else None,
            "chunker": _chunker_label(exp.chunker or _default_chunker()) if "dense" in exp.legs else None,
            "bm25_chunker": (_chunker_label(exp.bm25_chunker) if exp.bm25_chunker else "whole documents")
            if "bm25" in exp.legs else None,
            **(exp.fusion.as_dict() if len(exp.legs) > 1 else {}),
            **result.means,
            "rerank": _reranker_name(exp.rerank), "rerank_depth": exp.rerank_depth if exp.rerank is not None else None,
            "rerank_p50_ms": float(np.percentile(rerank_s, 50) * 1e3), "rerank_p95_ms": float(np.percentile(rerank_s, 95) * 1e3),
            "latency_p50_ms": float(np.percentile(latency, 50) * 1e3),
            "latency_p95_ms": float(np.percentile(latency, 95) * 1e3),
            "index_bytes": int(sum(r.index_bytes for r in leg_results.values())),
            "chunks": int(leg_results["dense"].rows if "dense" in leg_results else leg_results["bm25"].rows),
            "queries": result.num_queries,
        })
    return pd.DataFrame(rows)


def _reranker(spec: str | Reranker, loaded: dict[str, Reranker]) -> Reranker:
    if not isinstance(spec, str):
        return spec
    if spec not in loaded:
        from ragkit.embedding.cross_encoder import CrossEncoderReranker

        loaded[spec] = CrossEncoderReranker(spec)
    return loaded[spec]


def _reranker_name(spec: str | Reranker | None) -> str | None:
    return spec if spec is None or isinstance(spec, str) else spec.model_id


def _texts(dataset: BeirDataset) -> dict[str, str]:
    return {d.id: d.text for d in dataset.documents}


# -- building and timing one leg ---------------------------------------------------------


def _default_chunker() -> Chunker:
    from ragkit.chunking import RecursiveChunker

    return RecursiveChunker(max_tokens=254, overlap=32)


def _chunker_label(chunker: Chunker) -> str:
    config = dict(chunker.get_config())
    kind = config.pop("type", type(chunker).__name__)
    return f"{kind}({', '.join(f'{k}={v}' for k, v in sorted(config.items()))})"


def _model_name(exp: Experiment) -> str:
    return exp.model if isinstance(exp.model, str) else exp.model.model_id


def _leg_key(exp: Experiment, leg: str) -> str:
    if leg == "bm25":
        chunker = _chunker_label(exp.bm25_chunker) if exp.bm25_chunker else None
        return json.dumps({"leg": leg, "chunker": chunker})
    model = exp.model if isinstance(exp.model, str) else f"{type(exp.model).__name__}:{exp.model.model_id}"
    return json.dumps({"leg": leg, "model": model, "query_prompt": exp.query_prompt,
                       "document_prompt": exp.document_prompt, "chunker": _chunker_label(exp.chunker or _default_chunker())})


def _embedder(exp: Experiment, cache_dir: Path | None) -> CachedEmbedder:
    from ragkit.embedding import SentenceTransformerEmbedder

    inner: Embedder
    if isinstance(exp.model, str):
        inner = SentenceTransformerEmbedder(exp.model, query_prompt=exp.query_prompt, document_prompt=exp.document_prompt)
    else:
        inner = exp.model
    return CachedEmbedder(inner, cache_dir)


@dataclass
class _BuiltLeg:
    search: Any  # list[str] -> list[Candidates]; query vectors may come from the cache
    timed_search: Any  # the same with real query encoding, for latency
    doc_ids: np.ndarray
    index: Any
    rows: int


def _build_leg(dataset: BeirDataset, exp: Experiment, leg: str, chunk_depth: int, cache_dir: Path | None) -> _BuiltLeg:
    from ragkit.index import BM25Index, FaissIndex

    if leg == "bm25" and exp.bm25_chunker is None:
        texts = [d.text for d in dataset.documents]
        doc_ids = np.asarray([d.id for d in dataset.documents], dtype=object)
    else:
        chunker = (exp.chunker or _default_chunker()) if leg == "dense" else exp.bm25_chunker
        assert chunker is not None
        chunks = chunk_documents(chunker, dataset.documents)
        texts = [c.text for c in chunks]
        doc_ids = np.asarray([c.doc_id for c in chunks], dtype=object)
    index: Any
    if leg == "bm25":
        index = BM25Index().build(texts)

        def search(batch: list[str]) -> list[Any]:
            return index.search_rows(batch, chunk_depth)  # type: ignore[no-any-return]
        timed_search = search
    else:
        embedder = _embedder(exp, cache_dir)
        index = FaissIndex("Flat").build(embedder.embed_documents(texts))

        def search(batch: list[str]) -> list[Any]:
            return index.search_rows(embedder.embed_queries(batch), chunk_depth)  # type: ignore[no-any-return]

        def timed_search(batch: list[str]) -> list[Any]:
            return index.search_rows(embedder.embedder.embed_queries(batch), chunk_depth)  # type: ignore[no-any-return]

    return _BuiltLeg(search=search, timed_search=timed_search, doc_ids=doc_ids, index=index, rows=len(texts))


def _leg_run(built: _BuiltLeg, queries: Mapping[str, str]) -> dict[str, dict[str, float]]:
    qids = list(queries)
    texts = [queries[q] for q in qids]
    per_doc, per_score = [], []
    for start in range(0, len(texts), 256):
        for cands in built.search(texts[start:start + 256]):
            per_doc.append(built.doc_ids[cands.rows])
            per_score.append(cands.scores)
    return doc_level_run(qids, per_doc, per_score)


def _run_leg(dataset: BeirDataset, exp: Experiment, leg: str, depth: int, latency_queries: int,
             cache_dir: Path | None) -> _LegResult:
    built = _build_leg(dataset, exp, leg, 3 * depth, cache_dir)
    run = _leg_run(built, dataset.queries)
    timings = []
    for text in list(dataset.queries.values())[:latency_queries]:
        t0 = time.perf_counter()
        built.timed_search([text])
        timings.append(time.perf_counter() - t0)
    with tempfile.TemporaryDirectory() as tmp:
        files = built.index.save(Path(tmp))
        size = sum((Path(tmp) / f).stat().st_size for f in files)
    return _LegResult(run=run, latency_s=np.asarray(timings), index_bytes=size, rows=built.rows)


def experiment_workbench(dataset: BeirDataset, experiment: Experiment | None = None, *,
                         queries: Mapping[str, str] | None = None, depth: int = 100,
                         cache_dir: str | os.PathLike[str] | None = None) -> FusionWorkbench:
    """A :class:`FusionWorkbench` holding the legs of ``experiment`` over ``dataset``'s documents.

    ``queries`` default to the dataset's; pass the queries of several splits (e.g. train
    and test) to tune on one split's qrels and report on another's from one candidate
    cache. Each leg fetches ``3 * depth`` chunks per query and keeps its ``depth`` best
    documents. Document vectors go through the embedding cache in ``cache_dir``.

    Example:
        >>> bench = experiment_workbench(test, queries={**train.queries, **test.queries})  # doctest: +SKIP
        >>> bench.best(fusion_grid(rrf_k=[10, 60]), train.qrels)                            # doctest: +SKIP

    Raises:
        ConfigError: ``depth < 1`` or ``experiment`` not an Experiment.
    """
    experiment = experiment if experiment is not None else Experiment()
    if not isinstance(experiment, Experiment):
        raise ConfigError(f"experiment_workbench expects an Experiment. Got {type(experiment).__name__} instead.")
    check_int("experiment_workbench", "depth", depth, low=1)
    queries = dict(dataset.queries if queries is None else queries)
    bench = FusionWorkbench(queries, depth=depth)
    cache = Path(cache_dir) if cache_dir is not None else None
    for leg in experiment.legs:
        bench.add_run(leg, _leg_run(_build_leg(dataset, experiment, leg, 3 * depth, cache), queries))
    return bench
