"""End-to-end quality on SciFact with the default model (encodes the corpus once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ragkit
from ragkit.eval import BeirDataset, EvalResult, load_beir
from ragkit.pipeline import evaluate_retriever

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def scifact(scifact_dir: Path) -> BeirDataset:
    return load_beir(scifact_dir, split="test")


@pytest.fixture(scope="session")
def scifact_collection(scifact: BeirDataset, tmp_path_factory: pytest.TempPathFactory) -> ragkit.Collection:
    collection = ragkit.build_collection(
        scifact.documents,
        chunker=ragkit.RecursiveChunker(max_tokens=254, overlap=32),
        embedder=ragkit.SentenceTransformerEmbedder(),
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
    results = {name: evaluate_retriever(r, scifact) for name, r in retrievers.items()}
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
