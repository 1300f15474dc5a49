"""Concurrent hybrid-search load: N threads x M queries against a large synthetic collection.

Builds a collection of ``--chunks`` one-chunk synthetic documents (Zipf vocabulary, tenant and
ACL metadata) with a Flat FAISS index and BM25, saves it and reopens it (memory-mapped, as a
server would), then:

1. runs every distinct request once on one thread (the reference results and the
   single-threaded throughput);
2. runs ``--threads`` threads x ``--queries`` requests each, one query per call, cycling
   through the distinct requests (the collection's access field is ``acl``, so every request
   is bound to one of 12 principals; half also carry a metadata filter);
3. reports throughput, p50/p99 latency, errors (must be 0) and mismatches against the
   single-threaded results (must be 0).

The embedder is ragkit.testing.HashEmbedder, a deterministic fake: the point is the index,
fusion, filtering, access-control and concurrency path, not embedding quality or speed.

    python benchmarks/load_hybrid.py                                   # quick smoke run
    python benchmarks/load_hybrid.py --chunks 100000 --threads 8 --queries 10000
Writes benchmarks/results/load_hybrid.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from run_info import finish, markdown, run_info

import ragkit
from ragkit import Collection, HybridRetriever, Principal
from ragkit.testing import HashEmbedder, synthetic_documents, synthetic_queries
from ragkit.testing.load import Request, fingerprint, run_load

RESULTS = Path(__file__).parent / "results"


def requests(n: int, seed: int = 7) -> list[Request]:
    """Distinct requests, each bound to one of 12 principals; every 4th filtered by language, every 4th by year."""
    out: list[Request] = []
    for i, query in enumerate(synthetic_queries(n, seed=seed)):
        principal = Principal(f"user{i % 4}", groups=[f"g{i % 6}", f"g{(i + 2) % 6}"])
        filters = {"lang": "en"} if i % 4 == 1 else ({"year": {"$gte": 2010}} if i % 4 == 2 else None)
        out.append((query, filters, principal))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--queries", type=int, default=300, help="queries per thread")
    parser.add_argument("--distinct", type=int, default=2_000, help="distinct requests the threads cycle through")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--dimension", type=int, default=64)
    args = parser.parse_args()
    info = run_info(["numpy", "faiss-cpu", "pyarrow"])

    started = time.perf_counter()
    docs = synthetic_documents(args.chunks, seed=0)
    built = ragkit.build_collection(docs, chunker=ragkit.RecursiveChunker(tokenizer="regex"),
                                    embedder=HashEmbedder(dimension=args.dimension),
                                    indexes=[ragkit.FaissIndex("Flat"), ragkit.BM25Index()])
    build_s = time.perf_counter() - started
    assert built.num_chunks == args.chunks
    built.set_access_field("acl")
    with tempfile.TemporaryDirectory() as tmp:
        built.save(Path(tmp) / "col")
        del built
        collection = Collection.open(Path(tmp) / "col")
        hybrid = HybridRetriever(collection)
        bound = {p: hybrid.bind(p) for p in {r[2] for r in requests(args.distinct)}}

        def search(request: Request) -> list[ragkit.Hit]:
            query, filters, principal = request
            return bound[principal].search(query, k=args.k, filters=filters)

        reqs = requests(args.distinct)
        single_began = time.perf_counter()
        expected = {i: fingerprint(search(r)) for i, r in enumerate(reqs)}
        single_s = time.perf_counter() - single_began
        report = run_load(search, reqs, threads=args.threads, per_thread=args.queries, expected=expected)
        collection.close()

    result: dict[str, Any] = {
        "run": finish(info),
        "setup": {"chunks": args.chunks, "threads": args.threads, "queries_per_thread": args.queries,
                  "distinct_requests": args.distinct, "k": args.k, "embedder": f"HashEmbedder({args.dimension}) - fake",
                  "indexes": "FaissIndex('Flat') + BM25Index() (lucene), RRF, candidates=100",
                  "requests": "all bound to one of 12 principals (access field 'acl'), 1/2 also filtered",
                  "build_s": round(build_s, 1)},
        "single_thread": {"queries": len(reqs), "seconds": round(single_s, 3), "throughput_qps": round(len(reqs) / single_s, 1)},
        "concurrent": report.to_dict(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "load_hybrid.json").write_text(json.dumps(result, indent=2) + "\n")
    c = report
    table = [
        "# Concurrent hybrid-search load",
        "",
        *markdown(info),
        "",
        f"{args.chunks:,} one-chunk synthetic documents, Flat + BM25, RRF hybrid, k={args.k}; embedder: "
        f"HashEmbedder({args.dimension}) (fake, deterministic). Build {build_s:.0f} s.",
        "",
        "| run | threads | queries | throughput (q/s) | p50 (ms) | p99 (ms) | errors | results differing from single-threaded |",
        "|---|---|---|---|---|---|---|---|",
        f"| single thread (reference) | 1 | {len(reqs):,} | {result['single_thread']['throughput_qps']} | - | - | 0 | - |",
        f"| concurrent | {c.threads} | {c.queries:,} | {c.throughput_qps} | {c.p50_ms} | {c.p99_ms} | {c.errors} | {c.mismatches} |",
        "",
        "Every request is bound to a principal (access field `acl`); half also carry a metadata filter.",
    ]
    (RESULTS / "load_hybrid.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))
    if c.errors or c.mismatches:
        raise SystemExit(f"FAILED: {c.errors} errors ({c.first_error}), {c.mismatches} mismatches")


if __name__ == "__main__":
    main()
