"""End-to-end quality on SciFact with the default model (encodes the corpus once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ragkit
from ragkit.embedding import CachedEmbedder
from ragkit.eval import BeirDataset, EvalResult, evaluate, load_beir
from ragkit.pipeline import evaluate_retriever, retrieve_run

pytestmark = pytest.mark.slow

METRICS = ("ndcg@10", "recall@100", "mrr@10", "map@100", "precision@5")
# pytrec_eval's measure for each metric; recip_rank has no cut-off (equal to mrr@10 only when checked per query)
TREC = {"ndcg@10": "ndcg_cut_10", "recall@100": "recall_100", "map@100": "map_cut_100", "precision@5": "P_5"}


@pytest.fixture(scope="session")
def scifact(scifact_dir: Path) -> BeirDataset:
    return load_beir(scifact_dir, split="test")


@pytest.fixture(scope="session")
def scifact_collection(scifact: BeirDataset, tmp_path_factory: pytest.TempPathFactory,
                       embedding_cache_dir: Path) -> ragkit.Collection:
    # vectors go through the session's embedding cache, shared with the notebook test
    collection = ragkit.build_collection(
        scifact.documents,
        chunker=ragkit.RecursiveChunker(max_tokens=254, overlap=32),
        embedder=CachedEmbedder(ragkit.SentenceTransformerEmbedder(), embedding_cache_dir / "embeddings"),
        indexes=[ragkit.FaissIndex("Flat"), ragkit.BM25Index()],
    )
    # evaluate the saved-and-reopened collection: the path users take
    return ragkit.Collection.open(collection.save(tmp_path_factory.mktemp("scifact") / "col"))


@pytest.fixture(scope="session")
def scores(scifact: BeirDataset, scifact_collection: ragkit.Collection) -> dict[str, EvalResult]:
    retrievers = {
        "dense": ragkit.DenseRetriever(scifact_collection),
        "bm25": ragkit.BM25Retriever(scifact_collection),
        "hybrid": ragkit.HybridRetriever(scifact_collection, fusion="rrf"),
    }
    results = {name: evaluate_retriever(r, scifact, metrics=METRICS) for name, r in retrievers.items()}
    for name, result in results.items():
        print(f"scifact {name}: nDCG@10={result.means['ndcg@10']:.4f} R@100={result.means['recall@100']:.4f}")
    return results


def test_all_300_judged_queries_are_evaluated(scores: dict[str, EvalResult]) -> None:
    assert all(r.num_queries == 300 for r in scores.values())


def test_dense_reaches_the_published_figure(scores: dict[str, EvalResult]) -> None:
    assert scores["dense"].means["ndcg@10"] >= 0.64  # published all-MiniLM-L6-v2: 0.645


def test_bm25_reaches_the_published_figure(scores: dict[str, EvalResult]) -> None:
    assert scores["bm25"].means["ndcg@10"] >= 0.66  # published 0.665-0.679


def test_hybrid_beats_both_legs(scores: dict[str, EvalResult]) -> None:
    hybrid = scores["hybrid"].means["ndcg@10"]
    assert hybrid > scores["dense"].means["ndcg@10"]
    assert hybrid > scores["bm25"].means["ndcg@10"]


def test_hybrid_recall_at_100_beats_both_legs(scores: dict[str, EvalResult]) -> None:
    hybrid = scores["hybrid"].means["recall@100"]
    assert hybrid >= max(scores["dense"].means["recall@100"], scores["bm25"].means["recall@100"])


def test_real_hybrid_run_agrees_with_pytrec_eval(scifact: BeirDataset, scifact_collection: ragkit.Collection) -> None:
    pytrec_eval = pytest.importorskip("pytrec_eval")
    run = retrieve_run(ragkit.HybridRetriever(scifact_collection, fusion="rrf"), scifact.queries)
    ours = evaluate(run, scifact.qrels, METRICS)
    ref = pytrec_eval.RelevanceEvaluator(scifact.qrels, {"ndcg_cut.10", "recall.100", "map_cut.100", "P.5", "recip_rank"}).evaluate(run)
    assert set(ref) == set(ours.per_query)
    for qid, values in ref.items():
        for metric, key in TREC.items():
            assert ours.per_query[qid][metric] == pytest.approx(values[key], abs=1e-9), (qid, metric)
        rank_of_first = 1 / values["recip_rank"] if values["recip_rank"] else None
        expected_mrr = values["recip_rank"] if rank_of_first is not None and rank_of_first <= 10 else 0.0
        assert ours.per_query[qid]["mrr@10"] == pytest.approx(expected_mrr, abs=1e-9)
