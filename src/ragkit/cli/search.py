"""`ragkit search`: print the best chunks for each query."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ragkit.cli.retrievers import MODES, retriever_for

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    search = sub.add_parser("search", help="query a collection", description="Print the best chunks for each query.")
    search.add_argument("collection", type=Path, help="collection folder (or sharded collection folder)")
    search.add_argument("queries", nargs="+", help="one or more query strings")
    search.add_argument("-k", type=int, default=5, help="hits per query (default 5)")
    search.add_argument("--mode", choices=MODES, default="hybrid", help="retriever (default hybrid)")
    search.add_argument("--fusion", choices=("rrf", "score"), default="rrf", help="hybrid fusion (default rrf)")
    search.add_argument("--filter", default=None, help='metadata filter as JSON, e.g. \'{"format": "md"}\'')
    search.add_argument("--json", action="store_true", help="print hits as JSON lines")
    search.add_argument("--trace", action="store_true", help="print per-stage timings and leg candidate counts (stderr)")


def run(args: argparse.Namespace) -> int:
    from ragkit import InputError
    from ragkit.store import open_collection

    try:
        filters = json.loads(args.filter) if args.filter else None
    except json.JSONDecodeError as exc:
        raise InputError(f"--filter is not valid JSON: {exc}") from exc
    collection = open_collection(args.collection)
    mode = args.mode
    if mode == "hybrid" and not any(i.kind == "vector" for i in collection.indexes.values()):
        print("note: this collection has no vector index; searching with BM25 only", file=sys.stderr)
        mode = "bm25"
    retriever = retriever_for(collection, mode, args.fusion)
    from ragkit.observe import Trace

    trace = Trace() if args.trace else None
    results = retriever.search_batch(args.queries, k=args.k, filters=filters, trace=trace)
    if trace is not None:
        print(trace.table(), file=sys.stderr)
    for query, hits in zip(args.queries, results, strict=True):
        if args.json:
            for rank, h in enumerate(hits, 1):
                print(json.dumps({"query": query, "rank": rank, "score": h.score, "doc_id": h.doc_id,
                                  "start": h.start, "end": h.end, "text": h.text,
                                  "legs": {n: {"rank": s.rank, "score": s.score} for n, s in h.legs.items()}}))
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
