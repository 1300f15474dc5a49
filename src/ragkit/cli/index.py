"""`ragkit index`: chunk, embed and index a corpus into a collection folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]

CHUNKERS = ("recursive", "sentence", "markdown")


def add_parser(sub: Any) -> None:
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
    idx.add_argument("--chunker", choices=CHUNKERS, default=None,
                     help="chunking strategy (default: markdown for text folders, recursive otherwise)")
    idx.add_argument("--max-tokens", type=int, default=254, help="chunk size in model tokens (default 254)")
    idx.add_argument("--overlap", type=int, default=32, help="overlap between chunks in tokens (default 32)")
    idx.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2",
                     help="sentence-transformers model name or path (default: all-MiniLM-L6-v2, offline)")
    idx.add_argument("--vector-index", default="Flat", help="FAISS factory string: Flat, HNSW32, IVF256,Flat ...")
    idx.add_argument("--no-vectors", action="store_true", help="BM25 only: skip embedding")


def run(args: argparse.Namespace) -> int:
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
