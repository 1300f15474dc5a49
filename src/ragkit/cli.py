"""The ``ragkit`` command: index, search and evaluate collections from the shell."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

_CHUNKERS = ("recursive", "sentence", "markdown")
_MODES = ("hybrid", "dense", "bm25")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ragkit",
        description="Build, search and evaluate ragkit collections (chunks + FAISS + BM25, saved as Arrow/FAISS files).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    idx = sub.add_parser("index", help="chunk, embed and index a corpus into a collection folder",
                         description="Stream a corpus into a collection, shard by shard, with progress and resumption. "
                                     "SOURCE: a folder of .md/.txt/.rst/.html files, a BEIR folder (corpus.jsonl), "
                                     "a .jsonl file (id, text) or Parquet (file or folder; columns id, text).")
    idx.add_argument("source", type=Path, help="folder of text/markdown/HTML files, BEIR folder, .jsonl or Parquet")
    idx.add_argument("out", type=Path, help="collection folder to write (created; replaced atomically if it exists)")
    idx.add_argument("--engine", choices=("local", "ray"), default="local",
                     help="local: this machine (one process per GPU); ray: Ray Data (pip install 'ragkit[ray]')")
    idx.add_argument("--resume", action="store_true", help="continue an interrupted build of the same settings into OUT")
    idx.add_argument("--shard-docs", type=int, default=1000, help="documents per shard (memory and resume unit; default 1000)")
    idx.add_argument("--keep-shards", action="store_true",
                     help="write a sharded collection (searched as one) instead of merging: flat memory at any size")
    idx.add_argument("--ray-address", default=None, help="Ray cluster address (default: running instance or a new local one)")
    idx.add_argument("--ray-num-cpus", type=int, default=None, help="CPUs of a new local Ray instance (default: all)")
    idx.add_argument("--no-progress", action="store_true", help="no progress bar")
    idx.add_argument("--chunker", choices=_CHUNKERS, default=None,
                     help="chunking strategy (default: markdown for text folders, recursive otherwise)")
    idx.add_argument("--max-tokens", type=int, default=254, help="chunk size in model tokens (default 254)")
    idx.add_argument("--overlap", type=int, default=32, help="overlap between chunks in tokens (default 32)")
    idx.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2",
                     help="sentence-transformers model name or path (default: all-MiniLM-L6-v2, offline)")
    idx.add_argument("--vector-index", default="Flat", help="FAISS factory string: Flat, HNSW32, IVF256,Flat ...")
    idx.add_argument("--no-vectors", action="store_true", help="BM25 only: skip embedding")

    search = sub.add_parser("search", help="query a collection", description="Print the best chunks for each query.")
    search.add_argument("collection", type=Path, help="collection folder (or sharded collection folder)")
    search.add_argument("queries", nargs="+", help="one or more query strings")
    search.add_argument("-k", type=int, default=5, help="hits per query (default 5)")
    search.add_argument("--mode", choices=_MODES, default="hybrid", help="retriever (default hybrid)")
    search.add_argument("--fusion", choices=("rrf", "score"), default="rrf", help="hybrid fusion (default rrf)")
    search.add_argument("--filter", default=None, help='metadata filter as JSON, e.g. \'{"format": "md"}\'')
    search.add_argument("--json", action="store_true", help="print hits as JSON lines")
    search.add_argument("--trace", action="store_true", help="print per-stage timings and leg candidate counts (stderr)")

    ev = sub.add_parser("eval", help="evaluate a collection on a BEIR folder",
                        description="nDCG@10 and Recall@100 at document level on the judged queries of a split.")
    ev.add_argument("collection", type=Path, help="collection folder built from the same corpus")
    ev.add_argument("data", type=Path, help="BEIR-layout folder (corpus.jsonl, queries.jsonl, qrels/)")
    ev.add_argument("--split", default="test", help="qrels split (default test)")
    ev.add_argument("--modes", nargs="+", choices=_MODES, default=list(_MODES), help="retrievers to evaluate")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from ragkit.core.errors import RagkitError

    try:
        return {"index": _index, "search": _search, "eval": _eval}[args.command](args)
    except RagkitError as exc:
        print(f"ragkit {args.command}: error: {exc}", file=sys.stderr)
        return 2


def _index(args: argparse.Namespace) -> int:
    from ragkit import BM25Index, FaissIndex, MarkdownChunker, RecursiveChunker, SentenceChunker, SentenceTransformerEmbedder
    from ragkit.pipeline import BatchConfig, FolderSource, index_corpus, open_source

    config = BatchConfig(engine=args.engine, resume=args.resume, shard_docs=args.shard_docs, keep_shards=args.keep_shards,
                         progress=not args.no_progress, ray_address=args.ray_address, ray_num_cpus=args.ray_num_cpus)
    source = open_source(args.source)
    kind = args.chunker or ("markdown" if isinstance(source, FolderSource) else "recursive")
    if kind == "sentence":
        chunker: Any = SentenceChunker(max_tokens=args.max_tokens)
    else:
        cls = MarkdownChunker if kind == "markdown" else RecursiveChunker
        chunker = cls(max_tokens=args.max_tokens, overlap=args.overlap)
    indexes: list[Any] = [BM25Index()]
    embedder = None
    if not args.no_vectors:
        indexes.insert(0, FaissIndex(args.vector_index))
        embedder = SentenceTransformerEmbedder(args.model, show_progress=False)
    described = source.describe()
    print(f"indexing {described['kind']} source {args.source} with the {args.engine} engine "
          f"({kind} chunks of <= {args.max_tokens} tokens, shards of {args.shard_docs} documents"
          f"{', resuming' if args.resume else ''})")
    report = index_corpus(source, args.out, chunker=chunker, embedder=embedder, indexes=indexes, config=config)
    print(report.summary())
    return 0


def _retriever(collection: Any, mode: str, fusion: Any = "rrf") -> Any:
    from ragkit import BM25Retriever, DenseRetriever, HybridRetriever

    if mode == "dense":
        return DenseRetriever(collection)
    if mode == "bm25":
        return BM25Retriever(collection)
    return HybridRetriever(collection, fusion=fusion)


def _search(args: argparse.Namespace) -> int:
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
    retriever = _retriever(collection, mode, args.fusion)
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


def _eval(args: argparse.Namespace) -> int:
    from ragkit.eval import load_beir
    from ragkit.pipeline import evaluate_retriever
    from ragkit.store import open_collection

    dataset = load_beir(args.data, split=args.split)
    collection = open_collection(args.collection)
    print(f"{dataset.name}: {len(dataset.queries)} judged queries ({args.split}), {collection.num_chunks} chunks")
    print(f"{'mode':<8} {'nDCG@10':>8} {'R@100':>8} {'q/s':>8}")
    for mode in args.modes:
        start = time.perf_counter()
        result = evaluate_retriever(_retriever(collection, mode), dataset)
        qps = len(dataset.queries) / (time.perf_counter() - start)
        print(f"{mode:<8} {result.means['ndcg@10']:>8.4f} {result.means['recall@100']:>8.4f} {qps:>8.1f}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
