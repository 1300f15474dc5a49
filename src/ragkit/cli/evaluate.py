"""`ragkit eval`: nDCG@10 and Recall@100 of a collection on a BEIR folder."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ragkit.cli.retrievers import MODES, retriever_for, supported_modes
from ragkit.cli.stages import add_stage_arguments, stages_from_args

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    ev = sub.add_parser("eval", help="evaluate a collection on a BEIR folder",
                        description="nDCG@10 and Recall@100 (or --metrics) at document level on the judged queries of a split, "
                                    "for each retriever the collection supports.")
    ev.add_argument("collection", type=Path, help="collection folder built from the same corpus")
    ev.add_argument("data", type=Path, help="BEIR-layout folder (corpus.jsonl, queries.jsonl, qrels/)")
    ev.add_argument("--split", default="test", help="qrels split (default test)")
    ev.add_argument("--modes", nargs="+", choices=MODES, default=None,
                    help="retrievers to evaluate (default: every mode the collection supports; BM25 only without vectors)")
    ev.add_argument("--metrics", nargs="+", default=["ndcg@10", "recall@100"], metavar="METRIC@K",
                    help="trec_eval metrics, e.g. ndcg@10 recall@100 map@100 mrr@10 precision@5 (default ndcg@10 recall@100)")
    ev.add_argument("-k", type=int, default=300, help="hits retrieved per query, the depth of the run (default 300)")
    ev.add_argument("--json", action="store_true", help="print one JSON object per mode (metrics, queries, q/s)")
    add_stage_arguments(ev)


def run(args: argparse.Namespace) -> int:
    from ragkit.core.errors import InputError
    from ragkit.core.wording import count
    from ragkit.eval import load_beir
    from ragkit.pipeline import evaluate_retriever
    from ragkit.store import open_collection

    metrics = [m.strip().lower() for m in args.metrics]
    for metric in metrics:
        cutoff = metric.rpartition("@")[2]
        if cutoff.isdigit() and int(cutoff) > args.k:
            raise InputError(f"--metrics {metric} needs {cutoff} hits per query, but -k is {args.k}; raise -k.")
    stages = stages_from_args(args, keep_rest=True)  # the run is -k deep; its top --depth is reranked
    dataset = load_beir(args.data, split=args.split)
    collection = open_collection(args.collection)
    supported = supported_modes(collection)
    modes = list(args.modes) if args.modes is not None else list(supported)
    missing = [m for m in modes if m not in supported]
    if missing:
        raise InputError(f"{args.collection} has no vector index (it was built with --no-vectors), so it cannot run "
                         f"--modes {' '.join(missing)}; use --modes bm25, or index it again without --no-vectors.")
    if args.modes is None and supported != MODES:
        print("note: this collection has no vector index; evaluating bm25 only", file=sys.stderr)
    if not args.json:
        print(f"{dataset.name}: {count(len(dataset.queries), 'judged query', 'judged queries')} ({args.split}), "
              f"{count(collection.num_chunks, 'chunk')}")
        print(f"{'mode':<8} " + " ".join(f"{m:>12}" for m in metrics) + f" {'q/s':>8}")
    for mode in modes:
        start = time.perf_counter()
        retriever = retriever_for(collection, mode)
        result = evaluate_retriever(retriever.then(*stages) if stages else retriever, dataset, metrics=metrics, depth=args.k)
        qps = len(dataset.queries) / (time.perf_counter() - start)
        if args.json:
            print(json.dumps({"dataset": dataset.name, "split": args.split, "mode": mode, "queries": len(dataset.queries),
                              "k": args.k, "metrics": {m: result.means[m] for m in metrics}, "queries_per_s": qps}))
        else:
            print(f"{mode:<8} " + " ".join(f"{result.means[m]:>12.4f}" for m in metrics) + f" {qps:>8.1f}")
    return 0
