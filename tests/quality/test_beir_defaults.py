"""The library's defaults on every BEIR set of the data folder: the default hybrid against its own legs.

Each set is built once with the defaults (``build_collection``: default chunker, all-MiniLM-L6-v2
through the session's embedding cache, Flat + BM25) and scored at document level on its judged
test queries. The goal is a default hybrid at least as good as its better leg (within 0.005
nDCG@10) on every set; ``SHORTFALL`` records, per set, how far below that the defaults may
measure today (0 where the goal holds), so a regression on any set fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import ragkit
from ragkit.embedding import CachedEmbedder
from ragkit.eval import EvalResult, default_data_dir, load_beir
from ragkit.pipeline import evaluate_retriever

pytestmark = pytest.mark.slow

SETS = ("scifact", "nfcorpus", "cisi", "cranfield", "dbpedia-5k")
TOLERANCE = 0.005
# dbpedia-5k: dense alone beats every fusion of its two legs, tuned with labels or not
# (benchmarks/results/beir_quality.md), and no label-free fusion measured so far gets closer
# without losing elsewhere (benchmarks/results/fusion_research.md); the default gives up this much there.
SHORTFALL = {"scifact": 0.0, "nfcorpus": 0.0, "cisi": 0.0, "cranfield": 0.0, "dbpedia-5k": 0.03}


def _set_dir(name: str) -> Path:
    base = default_data_dir()
    if base is None or not (base / name / "qrels" / "test.tsv").is_file():
        pytest.skip(f"BEIR data for {name} not found (set RAGKIT_DATA_DIR or provide ../shared/data/{name})")
    return base / name


@pytest.fixture(scope="module", params=SETS)
def scores(request: pytest.FixtureRequest, embedding_cache_dir: Path) -> tuple[str, dict[str, EvalResult]]:
    name = request.param
    dataset = load_beir(_set_dir(name), split="test")
    embedder = CachedEmbedder(ragkit.SentenceTransformerEmbedder(), embedding_cache_dir / "embeddings")
    collection = ragkit.build_collection(dataset.documents, embedder=embedder)
    retrievers = {"bm25": ragkit.BM25Retriever(collection), "dense": ragkit.DenseRetriever(collection),
                  "hybrid": ragkit.HybridRetriever(collection)}
    results = {leg: evaluate_retriever(r, dataset) for leg, r in retrievers.items()}
    print(name, {leg: round(r.means["ndcg@10"], 4) for leg, r in results.items()})
    return name, results


def test_default_hybrid_is_as_good_as_its_better_leg(scores: tuple[str, dict[str, EvalResult]]) -> None:
    name, results = scores
    best_leg = max(results["bm25"].means["ndcg@10"], results["dense"].means["ndcg@10"])
    hybrid = results["hybrid"].means["ndcg@10"]
    assert hybrid >= best_leg - TOLERANCE - SHORTFALL[name], (name, hybrid, best_leg)


def test_default_hybrid_recall_at_100_is_as_good_as_its_better_leg(scores: tuple[str, dict[str, EvalResult]]) -> None:
    name, results = scores
    best_leg = max(results["bm25"].means["recall@100"], results["dense"].means["recall@100"])
    assert results["hybrid"].means["recall@100"] >= best_leg - TOLERANCE - SHORTFALL[name], name
