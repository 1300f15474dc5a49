"""run_experiments: one row per configuration, legs built once, embeddings never re-encoded."""

from __future__ import annotations

from pathlib import Path

import pytest

import ragkit
from ragkit import ConfigError
from ragkit.eval import (
    Experiment,
    FusionConfig,
    FusionWorkbench,
    experiment_grid,
    experiment_workbench,
    load_beir,
    run_experiments,
)
from ragkit.testing import HashEmbedder

pd = pytest.importorskip("pandas")

CORPUS = [
    {"_id": f"d{i}", "title": title, "text": text}
    for i, (title, text) in enumerate([
        ("Cats", "Cats purr when they are content and sleep most of the day."),
        ("Dogs", "Dogs bark at strangers and fetch sticks in the park."),
        ("Birds", "Birds sing at dawn; most birds fly and build nests in trees."),
        ("Fish", "Fish swim in rivers and oceans and breathe through gills."),
        ("Snakes", "Snakes have no legs and move by slithering over the ground."),
        ("Horses", "Horses gallop across fields and can sleep standing up."),
    ])
]
QUERIES = [{"_id": "q1", "text": "why do cats purr"}, {"_id": "q2", "text": "animals without legs"},
           {"_id": "q3", "text": "singing birds at dawn"}, {"_id": "q4", "text": "gills"}]
QRELS = {"test": [("q1", "d0", 1), ("q2", "d4", 2), ("q3", "d2", 1), ("q4", "d3", 1), ("q4", "d1", 0)]}


@pytest.fixture
def tiny(write_beir) -> ragkit.eval.BeirDataset:  # type: ignore[no-untyped-def]
    return load_beir(write_beir(corpus=CORPUS, queries=QUERIES, qrels=QRELS))


def chunker(tokens: int) -> ragkit.RecursiveChunker:
    return ragkit.RecursiveChunker(max_tokens=tokens, overlap=0, tokenizer="regex")


def test_one_row_per_experiment_with_metrics_latency_and_size(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = HashEmbedder(dimension=32)
    grid = experiment_grid(model=[model], chunker=[chunker(6), chunker(40)],
                           fusion=[FusionConfig(k=10), FusionConfig(method="score", normalization="zscore")])
    singles = [Experiment(legs=("bm25",)), Experiment(legs=("dense",), model=model, chunker=chunker(6))]
    table = run_experiments(tiny, grid + singles, cache_dir=tmp_path, metrics=("ndcg@10", "recall@100", "mrr@10"),
                            depth=10, latency_queries=3)
    assert len(table) == 6
    assert list(table["experiment"][-2:]) == ["bm25", "dense"]
    for column in ("ndcg@10", "recall@100", "mrr@10", "latency_p50_ms", "latency_p95_ms", "index_bytes", "chunks"):
        assert column in table.columns
    assert table["ndcg@10"].between(0, 1).all() and (table["latency_p50_ms"] > 0).all()
    assert (table["latency_p95_ms"] >= table["latency_p50_ms"]).all() and (table["index_bytes"] > 0).all()
    assert (table["queries"] == 4).all()
    assert table.loc[0, "chunks"] == table.loc[1, "chunks"] > table.loc[2, "chunks"] == table.loc[3, "chunks"] == 6
    assert table.loc[4, "bm25_chunker"] == "whole documents" and pd.isna(table.loc[4, "model"])
    # the hybrid rows agree with a workbench built by hand from the same legs
    bm25_alone = table.loc[4, "ndcg@10"]
    bench = FusionWorkbench(tiny.queries, depth=10)
    index = ragkit.BM25Index().build([d.text for d in tiny.documents])
    run = {qid: {tiny.documents[int(r)].id: float(s) for r, s in zip(c.rows, c.scores, strict=True)}
           for qid, c in zip(tiny.queries, index.search_rows(list(tiny.queries.values()), 30), strict=True)}
    bench.add_run("bm25", run)
    assert bench.evaluate(FusionConfig(legs=("bm25",)), tiny.qrels).means["ndcg@10"] == pytest.approx(bm25_alone)


def test_document_vectors_are_encoded_once_across_runs(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = HashEmbedder(dimension=16)
    experiments = [Experiment(model=model, chunker=chunker(8), fusion=FusionConfig(k=k)) for k in (1, 60)]
    run_experiments(tiny, experiments, cache_dir=tmp_path, latency_queries=2)
    first = model.calls
    assert first > len(tiny.queries) + 2  # documents, the query batch, two timed queries
    run_experiments(tiny, experiments, cache_dir=tmp_path, latency_queries=2)
    assert model.calls - first == 2  # second run: only the timed queries, which bypass the cache


def test_experiment_workbench_tunes_on_one_split_and_scores_another(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = HashEmbedder(dimension=16)
    exp = Experiment(model=model, chunker=chunker(8))
    extra = {"t1": "fetch sticks", "t2": "sleep standing"}
    bench = experiment_workbench(tiny, exp, queries={**extra, **tiny.queries}, depth=10, cache_dir=tmp_path)
    assert bench.legs == ["bm25", "dense"] and len(bench.query_ids) == 6
    train_qrels = {"t1": {"d1": 1}, "t2": {"d5": 1}}
    best, value = bench.best([FusionConfig(k=k) for k in (1, 60)], train_qrels)
    train_result = bench.evaluate(best, train_qrels)
    assert train_result.num_queries == 2 and train_result.means["ndcg@10"] == pytest.approx(value)
    test_table = run_experiments(tiny, [Experiment(model=model, chunker=chunker(8), fusion=best)], cache_dir=tmp_path,
                                 depth=10, latency_queries=1)
    assert test_table.loc[0, "ndcg@10"] == pytest.approx(bench.evaluate(best, tiny.qrels).means["ndcg@10"])


def test_bad_experiments(tiny) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="'legs' parameter of Experiment"):
        Experiment(legs=("bm25", "splade"))
    with pytest.raises(ConfigError, match="'model' parameter of Experiment"):
        Experiment(model=3)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="must not name legs"):
        Experiment(fusion=FusionConfig(legs=("bm25", "dense")))
    with pytest.raises(ConfigError, match="unknown field"):
        experiment_grid(modle=["x"])
    with pytest.raises(ConfigError, match="non-empty list"):
        experiment_grid(model="all-MiniLM-L6-v2")
    with pytest.raises(ConfigError, match="got no experiments"):
        run_experiments(tiny, [])
    with pytest.raises(ConfigError, match="expects Experiment objects"):
        run_experiments(tiny, [FusionConfig()])  # type: ignore[list-item]
