"""`ragkit search`: print the best chunks for each query."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ragkit.cli.retrievers import MODES, retriever_for
from ragkit.cli.stages import add_stage_arguments, stages_from_args

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    search = sub.add_parser("search", help="query a collection", description="Print the best chunks for each query.")
    search.add_argument("collection", type=Path, help="collection folder (or sharded collection folder)")
    search.add_argument("queries", nargs="*", help="one or more query strings (or --queries-file)")
    search.add_argument("--queries-file", default=None, metavar="FILE",
                        help="read queries from FILE, one per line (blank lines skipped); '-' reads standard input")
    search.add_argument("-k", type=int, default=5, help="hits per query (default 5)")
    search.add_argument("--mode", choices=MODES, default="hybrid", help="retriever (default hybrid)")
    search.add_argument("--fusion", choices=("default", "rrf", "score", "zscore"), default="default",
                        help="hybrid fusion: default (z-score, BM25 0.4 / dense 0.6), rrf (k=60), score (min-max), "
                             "zscore (equal weights)")
    search.add_argument("--rrf-k", type=int, default=None, help="RRF's rank constant k (default 60); with --fusion rrf")
    search.add_argument("--weights", type=float, nargs=2, default=None, metavar=("BM25", "DENSE"),
                        help="weight of each hybrid leg in the fusion (default: 0.4 0.6 with --fusion default, else equal)")
    search.add_argument("--candidates", type=int, default=100, help="candidates each hybrid leg passes to fusion (default 100)")
    search.add_argument("--filter", default=None, help='metadata filter as JSON, e.g. \'{"format": "md"}\'')
    search.add_argument("--json", action="store_true", help="print hits as JSON lines")
    search.add_argument("--trace", action="store_true", help="print per-stage timings and leg candidate counts (stderr)")
    search.add_argument("--query-backend", choices=("auto", "torch", "onnx"), default=None,
                        help="embed the queries with torch or ONNX Runtime (no torch import); default: what the "
                             "collection records, normally auto = ONNX Runtime when installed")
    add_stage_arguments(search)


def read_queries(given: list[str], path: str | None) -> list[str]:
    """The queries of the command line, then those of ``--queries-file`` (``-``: standard input), one per line."""
    from ragkit.core.errors import InputError

    queries = list(given)
    if path is not None:
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"--queries-file {path}: cannot read it ({exc}).") from exc
        queries += [line.strip() for line in text.splitlines() if line.strip()]
    if not queries:
        raise InputError("No query given: pass query strings after the collection, or --queries-file FILE ('-' for stdin).")
    return queries


def fusion_from_args(args: argparse.Namespace) -> Any:
    """The hybrid fusion that --fusion, --rrf-k and --weights describe."""
    from ragkit.core.errors import InputError
    from ragkit.search import RRF, ScoreFusion

    weights = tuple(args.weights) if args.weights else None
    if args.fusion == "rrf":
        return RRF(k=60 if args.rrf_k is None else args.rrf_k, weights=weights)
    if args.rrf_k is not None:
        raise InputError(f"--rrf-k applies to --fusion rrf, not --fusion {args.fusion}.")
    if args.fusion == "default" and weights is None:
        return "default"
    return ScoreFusion(weights=weights, normalization="minmax" if args.fusion == "score" else "zscore")


def use_query_backend(collection: Any, backend: str | None) -> None:
    """Embed ``collection``'s queries with ``backend`` (when asked, and its embedder is a sentence-transformers one)."""
    from ragkit.embedding import SentenceTransformerEmbedder

    if backend is None:
        return
    for part in getattr(collection, "shards", [collection]):
        if isinstance(part.embedder, SentenceTransformerEmbedder) and part.embedder.config.backend != backend:
            part.embedder = SentenceTransformerEmbedder.from_config({**part.embedder.get_config(), "backend": backend})


def run(args: argparse.Namespace) -> int:
    from ragkit import InputError
    from ragkit.store import open_collection

    try:
        filters = json.loads(args.filter) if args.filter else None
    except json.JSONDecodeError as exc:
        raise InputError(f"--filter is not valid JSON: {exc}") from exc
    queries = read_queries(args.queries, args.queries_file)
    collection = open_collection(args.collection)
    use_query_backend(collection, args.query_backend)
    mode = args.mode
    if mode != "bm25" and not any(i.kind == "vector" for i in collection.indexes.values()):
        if mode == "dense":
            raise InputError(f"{args.collection} has no vector index (it was built with --no-vectors); use --mode bm25, "
                             "or index it again without --no-vectors.")
        print("note: this collection has no vector index; searching with BM25 only", file=sys.stderr)
        mode = "bm25"
    retriever = retriever_for(collection, mode, fusion_from_args(args), candidates=args.candidates)
    stages = stages_from_args(args)
    if stages:
        retriever = retriever.then(*stages)
    trace = None
    if args.trace:
        from ragkit.observe import Trace

        trace = Trace()
    results = retriever.search_batch(queries, k=args.k, filters=filters, trace=trace)
    if trace is not None:
        print(trace.table(), file=sys.stderr)
    for query, hits in zip(queries, results, strict=True):
        if args.json:
            for rank, h in enumerate(hits, 1):
                print(json.dumps({"query": query, "rank": rank, "score": h.score, "doc_id": h.doc_id,
                                  "start": h.start, "end": h.end, "text": h.text,
                                  "headings": list(h.metadata.get("headings") or []), "metadata": h.metadata,
                                  "legs": {n: {"rank": s.rank, "score": s.score} for n, s in h.legs.items()}}, default=str))
            continue
        print(f"\n> {query}")
        if not hits:
            print("  (no hits)")
        for rank, h in enumerate(hits, 1):
            legs = "  ".join(f"{n} #{s.rank} ({s.score:.3f})" for n, s in sorted(h.legs.items()))
            heading = " > ".join(h.metadata.get("headings") or [])
            print(f"  {rank}. [{h.score:.4f}] {h.doc_id} [{h.start}:{h.end}]{' ' + heading if heading else ''}")
            if legs:
                print(f"     legs: {legs}")
            snippet = " ".join(h.text.split())
            print(f"     {snippet[:200]}{'...' if len(snippet) > 200 else ''}")
    return 0
