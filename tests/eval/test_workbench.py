"""FusionWorkbench: fusions agree with the library's RRF / ScoreFusion applied per query."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

import ragkit
from ragkit import ConfigError, IndexFormatError, InputError
from ragkit.core.results import Candidates, LegScore
from ragkit.eval import FusionConfig, FusionWorkbench, evaluate, fusion_grid
from ragkit.eval.fusion_config import normalize_segments
from ragkit.pipeline import retrieve_run
from ragkit.search.fusion import RRF, ScoreFusion, normalize


def random_legs(seed: int, n_queries: int = 12, n_docs: int = 40) -> tuple[dict[str, str], dict[str, dict]]:
    rng = np.random.default_rng(seed)
    queries = {f"q{i}": f"query {i}" for i in range(n_queries)}
    runs: dict[str, dict] = {}
    for leg in ("bm25", "dense"):
        runs[leg] = {}
        for qid in queries:
            size = int(rng.integers(0, 15))  # some queries get nothing from a leg
            docs = rng.choice(n_docs, size=size, replace=False)
            runs[leg][qid] = {f"d{d}": float(s) for d, s in zip(docs, rng.normal(size=size) * 3 + 5, strict=True)}
    return queries, runs


def reference_fusion(runs: dict[str, dict], qid: str, fusion: RRF | ScoreFusion, depth: int) -> dict[str, float]:
    """Fuse one query with ragkit.search.fusion, document ids mapped to integer rows."""
    legs = []
    for leg in ("bm25", "dense"):
        ranked = sorted(runs[leg][qid].items(), key=lambda kv: -kv[1])
        legs.append(Candidates(np.array([int(d[1:]) for d, _ in ranked], dtype=np.int64),
                               np.array([s for _, s in ranked], dtype=np.float64)))
    fused = fusion.fuse(legs, depth)
    return {f"d{r}": s for r, s in zip(fused.rows.tolist(), fused.scores.tolist(), strict=True)}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("config", [
    FusionConfig(k=60), FusionConfig(k=0, weights=(0.3, 1.7)),
    FusionConfig(method="score", normalization="minmax"),
    FusionConfig(method="score", normalization="zscore", weights=(2.0, 0.5)),
    FusionConfig(method="score", normalization="rank", weights=(1.0, 3.0)),
    FusionConfig(method="score", normalization="none"),
])
def test_fusion_matches_the_retrieval_fusions(seed: int, config: FusionConfig) -> None:
    queries, runs = random_legs(seed)
    bench = FusionWorkbench(queries, depth=40)  # deeper than any fused list: no ties at a cut-off
    for leg, run in runs.items():
        bench.add_run(leg, run)
    fused = bench.fuse(config)
    for qid in queries:
        expected = reference_fusion(runs, qid, config.to_fusion(), 40)
        assert sorted(fused[qid]) == sorted(expected), qid
        np.testing.assert_allclose([fused[qid][d] for d in expected], list(expected.values()), rtol=1e-12, atol=1e-12)
        scores = list(fused[qid].values())
        assert scores == sorted(scores, reverse=True)


def test_fused_scores_match_score_fusion() -> None:
    queries, runs = random_legs(5)
    bench = FusionWorkbench(queries, depth=30)
    for leg, run in runs.items():
        bench.add_run(leg, run)
    config = FusionConfig(method="score", normalization="zscore", weights=(0.4, 0.6))
    fused = bench.fuse(config)
    for qid in queries:
        legs = []
        for leg in ("bm25", "dense"):
            ranked = sorted(runs[leg][qid].items(), key=lambda kv: -kv[1])
            legs.append(Candidates(np.array([int(d[1:]) for d, _ in ranked]), np.array([s for _, s in ranked])))
        ref = config.to_fusion().fuse(legs, 30)
        np.testing.assert_allclose(list(fused[qid].values()), ref.scores, rtol=1e-12, atol=1e-12)


def test_normalize_segments_matches_per_query_normalize() -> None:
    rng = np.random.default_rng(3)
    counts = np.array([0, 1, 5, 3, 0, 4])
    offsets = np.concatenate([[0], np.cumsum(counts)])
    scores = -np.sort(-rng.normal(size=offsets[-1]))  # any order works; keep it ranked
    scores[offsets[3]:offsets[4]] = 2.0  # a constant segment
    for method in ("minmax", "zscore", "rank", "none"):
        got = normalize_segments(scores, offsets, method)
        want = np.concatenate([normalize(scores[a:b], method) for a, b in itertools.pairwise(offsets)])
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_a_single_leg_config_gives_that_legs_ranking() -> None:
    queries, runs = random_legs(7)
    bench = FusionWorkbench(queries, depth=50)
    for leg, run in runs.items():
        bench.add_run(leg, run)
    for method in ("rrf", "score"):
        fused = bench.fuse(FusionConfig(legs=("dense",), method=method))  # type: ignore[arg-type]
        for qid in queries:
            assert list(fused[qid]) == [d for d, _ in sorted(runs["dense"][qid].items(), key=lambda kv: -kv[1])]


def test_hits_report_rank_and_score_in_every_leg() -> None:
    bench = FusionWorkbench({"q": "cats"}, depth=10)
    bench.add_run("bm25", {"q": {"a": 9.0, "b": 4.0}})
    bench.add_run("dense", {"q": {"b": 0.8, "c": 0.7}})
    hits = bench.hits("q", FusionConfig(k=60), k=2)
    assert [h.doc_id for h in hits] == ["b", "a"] and [h.rank for h in hits] == [1, 2]
    assert hits[0].legs == {"bm25": LegScore(rank=2, score=4.0), "dense": LegScore(rank=1, score=0.8)}
    assert hits[1].legs == {"bm25": LegScore(rank=1, score=9.0), "dense": None}
    assert hits[0].score == pytest.approx(1 / 62 + 1 / 61)


def test_add_retriever_caches_the_document_run(animal_collection: ragkit.Collection) -> None:
    queries = {"q1": "cats purr", "q2": "birds fly and sing", "q3": "legs"}
    bench = FusionWorkbench(queries, depth=5)
    bench.add_retriever("bm25", ragkit.BM25Retriever(animal_collection), chunk_depth=50)
    bench.add_retriever("dense", ragkit.DenseRetriever(animal_collection), chunk_depth=50)
    expected = retrieve_run(ragkit.DenseRetriever(animal_collection), queries, depth=50)
    fused = bench.fuse(FusionConfig(legs=("dense",)))
    for qid in queries:
        assert list(fused[qid]) == list(expected[qid])[:5]
    qrels = {"q1": {"cats": 1}, "q2": {"birds": 2}, "unknown": {"x": 1}}
    result = bench.evaluate(FusionConfig(), qrels, ["ndcg@3"])
    assert result.num_queries == 2
    assert result.means == evaluate({q: r for q, r in bench.fuse(FusionConfig()).items()},
                                    {q: qrels[q] for q in ("q1", "q2")}, ["ndcg@3"]).means


def test_sweep_best_and_grid() -> None:
    pytest.importorskip("pandas")
    queries, runs = random_legs(11, n_queries=30)
    bench = FusionWorkbench(queries, depth=20)
    for leg, run in runs.items():
        bench.add_run(leg, run)
    qrels = {qid: {d: 1 for d in list(runs["dense"][qid])[:2]} for qid in queries if runs["dense"][qid]}
    grid = fusion_grid(rrf_k=[1, 60], weights=[None, (1.0, 0.0001)], normalizations=["minmax", "rank"])
    assert len(grid) == 8
    table = bench.sweep(grid, qrels, ["ndcg@10", "mrr@10"])
    assert list(table["label"]) == [c.label for c in grid]
    assert {"method", "rrf_k", "normalization", "weights", "ndcg@10", "mrr@10", "config"} <= set(table.columns)
    best, value = bench.best(grid, qrels, "ndcg@10")
    assert value == pytest.approx(table["ndcg@10"].max())
    assert best == table.loc[table["ndcg@10"].idxmax(), "config"]


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    queries, runs = random_legs(13)
    bench = FusionWorkbench(queries, depth=8)
    for leg, run in runs.items():
        bench.add_run(leg, run)
    path = bench.save(tmp_path / "candidates.arrow")
    again = FusionWorkbench.load(path)
    assert again.legs == bench.legs and again.queries == bench.queries and again.depth == 8
    for config in (FusionConfig(), FusionConfig(method="score", normalization="zscore")):
        assert again.fuse(config) == bench.fuse(config)
    (tmp_path / "junk.arrow").write_bytes(b"not arrow")
    with pytest.raises(IndexFormatError, match="not a readable candidate file"):
        FusionWorkbench.load(tmp_path / "junk.arrow")


def test_errors() -> None:
    with pytest.raises(InputError, match="non-empty mapping"):
        FusionWorkbench({})
    with pytest.raises(ConfigError, match="'depth' parameter"):
        FusionWorkbench({"q": "x"}, depth=0)
    bench = FusionWorkbench({"q": "x"})
    with pytest.raises(InputError, match="no legs yet"):
        bench.fuse(FusionConfig())
    bench.add_run("bm25", {"q": {"a": 1.0}})
    with pytest.raises(ConfigError, match="already has a leg named 'bm25'"):
        bench.add_run("bm25", {})
    with pytest.raises(InputError, match="not a finite number"):
        bench.add_run("other", {"q": {"a": float("nan")}})
    with pytest.raises(ConfigError, match=r"unknown leg\(s\) \['dense'\]"):
        bench.fuse(FusionConfig(legs=("dense",)))
    with pytest.raises(ConfigError, match="2 weights for legs"):
        bench.fuse(FusionConfig(weights=(1.0, 2.0)))
    with pytest.raises(InputError, match="None of the workbench's queries is judged"):
        bench.evaluate(FusionConfig(), {"other": {"a": 1}})
    with pytest.raises(InputError, match="Unknown query id"):
        bench.hits("nope", FusionConfig())
    with pytest.raises(ConfigError, match="'method' parameter of FusionConfig"):
        FusionConfig(method="max")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="'normalization' parameter"):
        FusionConfig(normalization="l2")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="must not be all zero"):
        FusionConfig(weights=(0.0, 0.0))
    with pytest.raises(ConfigError, match="one weight per leg"):
        FusionConfig(legs=("a", "b"), weights=(1.0,))
    with pytest.raises(ConfigError, match="'legs' parameter"):
        FusionConfig(legs="bm25")  # type: ignore[arg-type]
