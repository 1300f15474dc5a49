"""Evaluate a saved collection on its BEIR folder: nDCG@10 and Recall@100 for BM25, dense and hybrid.

    python pipelines/evaluate_beir.py indexes/scifact ../shared/data/scifact
"""

from __future__ import annotations

import argparse
from pathlib import Path

import ragkit
from ragkit.eval import load_beir
from ragkit.pipeline import evaluate_retriever


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("collection", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("--split", default="test")
    args = parser.parse_args()

    dataset = load_beir(args.data, split=args.split)
    collection = ragkit.Collection.open(args.collection)
    retrievers = {
        "bm25": ragkit.BM25Retriever(collection),
        "dense": ragkit.DenseRetriever(collection),
        "hybrid-rrf": ragkit.HybridRetriever(collection, fusion=ragkit.RRF(k=60)),
        "hybrid-minmax": ragkit.HybridRetriever(collection, fusion=ragkit.ScoreFusion(normalization="minmax")),
    }
    print(f"{dataset.name} ({args.split}): {len(dataset.queries)} judged queries")
    for name, retriever in retrievers.items():
        result = evaluate_retriever(retriever, dataset)
        print(f"{name:<14} nDCG@10 {result.means['ndcg@10']:.4f}   Recall@100 {result.means['recall@100']:.4f}")


if __name__ == "__main__":
    main()
