"""`ragkit eval`: nDCG@10 and Recall@100 of a collection on a BEIR folder."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from ragkit.cli.retrievers import MODES, retriever_for

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    ev = sub.add_parser("eval", help="evaluate a collection on a BEIR folder",
                        description="nDCG@10 and Recall@100 at document level on the judged queries of a split.")
    ev.add_argument("collection", type=Path, help="collection folder built from the same corpus")
    ev.add_argument("data", type=Path, help="BEIR-layout folder (corpus.jsonl, queries.jsonl, qrels/)")
    ev.add_argument("--split", default="test", help="qrels split (default test)")
    ev.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES), help="retrievers to evaluate")


def run(args: argparse.Namespace) -> int:
    from ragkit.eval import load_beir
    from ragkit.pipeline import evaluate_retriever
    from ragkit.store import open_collection

    dataset = load_beir(args.data, split=args.split)
    collection = open_collection(args.collection)
    print(f"{dataset.name}: {len(dataset.queries)} judged queries ({args.split}), {collection.num_chunks} chunks")
    print(f"{'mode':<8} {'nDCG@10':>8} {'R@100':>8} {'q/s':>8}")
    for mode in args.modes:
        start = time.perf_counter()
        result = evaluate_retriever(retriever_for(collection, mode), dataset)
        qps = len(dataset.queries) / (time.perf_counter() - start)
        print(f"{mode:<8} {result.means['ndcg@10']:>8.4f} {result.means['recall@100']:>8.4f} {qps:>8.1f}")
    return 0
