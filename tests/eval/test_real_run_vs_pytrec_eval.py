"""evaluate() agrees with pytrec_eval on a real run: BM25 over SciFact, test split (no model needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ragkit
from ragkit.eval import FusionConfig, FusionWorkbench, evaluate, load_beir

pytrec_eval = pytest.importorskip("pytrec_eval")

MEASURES = {"ndcg@10": ("ndcg_cut.10", "ndcg_cut_10"), "recall@100": ("recall.100", "recall_100"),
            "precision@10": ("P.10", "P_10"), "map@100": ("map_cut.100", "map_cut_100"), "ndcg@1000": ("ndcg", "ndcg")}


def test_bm25_run_on_scifact_agrees(scifact_dir: Path) -> None:
    dataset = load_beir(scifact_dir, split="test")
    index = ragkit.BM25Index().build([d.text for d in dataset.documents])
    ids = [d.id for d in dataset.documents]
    found = index.search_rows(list(dataset.queries.values()), 1000)
    run = {qid: {ids[int(r)]: float(s) for r, s in zip(c.rows, c.scores, strict=True)}
           for qid, c in zip(dataset.queries, found, strict=True)}
    ours = evaluate(run, dataset.qrels, tuple(MEASURES))
    ref = pytrec_eval.RelevanceEvaluator(dataset.qrels, {m for m, _ in MEASURES.values()}).evaluate(run)
    assert ours.num_queries == len(ref) == 300
    for metric, (_, key) in MEASURES.items():
        for qid, values in ref.items():
            assert ours.per_query[qid][metric] == pytest.approx(values[key], abs=1e-9), (qid, metric)
    # and a fused run from the workbench (two real legs: whole documents and 254-token chunks)
    chunks = ragkit.RecursiveChunker(max_tokens=254, overlap=32, tokenizer="regex").chunk_many(dataset.documents)
    chunk_index = ragkit.BM25Index().build([c.text for c in chunks])
    bench = FusionWorkbench(dataset.queries, depth=100)
    bench.add_run("docs", run)
    chunk_run: dict[str, dict[str, float]] = {}
    for qid, c in zip(dataset.queries, chunk_index.search_rows(list(dataset.queries.values()), 300), strict=True):
        for r, s in zip(c.rows.tolist(), c.scores.tolist(), strict=True):
            doc = chunks[r].doc_id
            chunk_run.setdefault(qid, {})[doc] = max(s, chunk_run.get(qid, {}).get(doc, float("-inf")))
    bench.add_run("chunks", chunk_run)
    fused = bench.fuse(FusionConfig(method="score", normalization="zscore", weights=(0.7, 0.3)))
    ours = evaluate(fused, dataset.qrels, ("ndcg@10", "recall@100"))
    ref = pytrec_eval.RelevanceEvaluator(dataset.qrels, {"ndcg_cut.10", "recall.100"}).evaluate(fused)
    for qid, values in ref.items():
        assert ours.per_query[qid]["ndcg@10"] == pytest.approx(values["ndcg_cut_10"], abs=1e-9)
        assert ours.per_query[qid]["recall@100"] == pytest.approx(values["recall_100"], abs=1e-9)
