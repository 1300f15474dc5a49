"""Fan-out cost of Ray-served shards against the same shards searched in this process (1, 2 and 4 shards).

One corpus (synthetic documents, ``--docs``, vectors from the hash embedder at ``--dimension``:
Flat search costs the same for any vectors of that size) is indexed once per shard count
with ``index_corpus(..., keep_shards=True)``. For each shard count and each mode (BM25,
dense, hybrid), the same queries are searched one at a time through
:class:`ragkit.ShardedCollection` (shards in this process, searched one after the other) and
:class:`ragkit.serve.RayShardedCollection` (one actor per shard on a local Ray instance,
searched concurrently), in one run, same queries, no best-of-N for either: the median and
p99 latency per query and the ratio. Every Ray result is checked against the local one.

    python benchmarks/ray_shards.py [--docs 20000] [--queries 300]
Writes benchmarks/results/ray_shards.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from run_info import finish, markdown, run_info

import ragkit
from ragkit.serve import RayShardedCollection
from ragkit.testing import HashEmbedder, synthetic_documents, synthetic_queries

RESULTS = Path(__file__).resolve().parent / "results"
MODES = {"bm25": ragkit.BM25Retriever, "dense": ragkit.DenseRetriever, "hybrid": ragkit.HybridRetriever}


def latencies(retriever: Any, queries: list[str], k: int) -> tuple[np.ndarray, list[list[int]]]:
    seconds, rows = [], []
    for query in queries:
        start = time.perf_counter()
        hits = retriever.search(query, k=k)
        seconds.append(time.perf_counter() - start)
        rows.append([h.chunk_row for h in hits])
    return np.array(seconds), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--dimension", type=int, default=384)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--shards", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    import ray

    info = run_info(["numpy", "faiss-cpu", "ray", "pyarrow"])
    ray.init(num_cpus=max(2, len(args.shards)), include_dashboard=False, log_to_driver=False)
    docs = synthetic_documents(args.docs, seed=0)
    queries = synthetic_queries(args.queries, seed=21)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "docs.jsonl"
        corpus.write_text("".join(json.dumps({"id": d.id, "text": d.text}) + "\n" for d in docs), encoding="utf-8")
        for n_shards in args.shards:
            out = Path(tmp) / f"shards-{n_shards}"
            ragkit.index_corpus(corpus, out, chunker=ragkit.RecursiveChunker(tokenizer="regex"),
                                embedder=HashEmbedder(dimension=args.dimension), shard_docs=-(-args.docs // n_shards),
                                keep_shards=True, progress=False)
            local = ragkit.ShardedCollection.open(out)
            served = RayShardedCollection.open(out, actor_options={"num_cpus": 0.5})
            for mode, retriever in MODES.items():
                here, there = retriever(local), retriever(served)
                latencies(here, queries[:20], args.k)  # warm both: kernels, weights, actors
                latencies(there, queries[:20], args.k)
                a, ranked_a = latencies(here, queries, args.k)
                b, ranked_b = latencies(there, queries, args.k)
                rows.append({"shards": n_shards, "mode": mode, "chunks": local.num_chunks,
                             "local_p50_ms": float(np.median(a) * 1e3), "local_p99_ms": float(np.quantile(a, 0.99) * 1e3),
                             "ray_p50_ms": float(np.median(b) * 1e3), "ray_p99_ms": float(np.quantile(b, 0.99) * 1e3),
                             "ray_over_local_p50": float(np.median(b) / np.median(a)),
                             "identical_results": ranked_a == ranked_b})
                print(rows[-1], flush=True)
            served.close()
            local.close()
    ray.shutdown()
    finish(info)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ray_shards.json").write_text(json.dumps({"run": info, "docs": args.docs, "queries": args.queries,
                                                         "dimension": args.dimension, "k": args.k, "rows": rows}, indent=2))
    lines = ["# Ray-served shards vs shards in this process (per-query latency)", "", *markdown(info), "",
             f"{args.docs:,} synthetic documents ({rows[0]['chunks']:,} chunks), Flat vectors of {args.dimension} "
             f"dimensions (hash embedder) and BM25; {args.queries} queries searched one at a time, k={args.k}; local "
             "Ray instance on this machine (actors with 0.5 CPU each). Same queries, same order, no best-of-N.", "",
             "| shards | mode | local p50 ms | local p99 ms | Ray p50 ms | Ray p99 ms | Ray / local (p50) | same results |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['shards']} | {r['mode']} | {r['local_p50_ms']:.2f} | {r['local_p99_ms']:.2f} | {r['ray_p50_ms']:.2f} | "
              f"{r['ray_p99_ms']:.2f} | {r['ray_over_local_p50']:.1f}x | {'yes' if r['identical_results'] else 'NO'} |"
              for r in rows]
    (RESULTS / "ray_shards.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
