"""`ragkit index`: chunk, embed and index a corpus into a collection folder."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]

CHUNKERS = ("recursive", "sentence", "markdown", "whole")
LANGUAGE_CHOICES = ("en", "de", "fr", "es", "it", "nl", "pt", "ru", "sv", "zh", "ja", "ko", "none")


def add_parser(sub: Any) -> None:
    idx = sub.add_parser("index", help="chunk, embed and index a corpus into a collection folder",
                         description="Stream a corpus into a collection, shard by shard, with progress and resumption. "
                                     "SOURCE: a folder of documents (.md/.txt/.rst/.html/.pdf/.docx/.pptx/.epub; PDF, "
                                     "DOCX and PPTX need pip install 'ragkit[docs]') or one such file, a BEIR folder "
                                     "(corpus.jsonl), a .jsonl or .csv/.tsv file or Parquet (file or folder) of records "
                                     "(fields id, text; see --id-field ...). Files that cannot be read are listed with "
                                     "their reason in the summary (--strict: an error).")
    idx.add_argument("source", type=Path, help="folder or file of documents, BEIR folder, .jsonl, .csv or Parquet")
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
                     help="chunking strategy; whole: one chunk per document "
                          "(default: markdown for text folders, recursive otherwise)")
    idx.add_argument("--max-tokens", type=int, default=254, help="chunk size in model tokens (default 254)")
    idx.add_argument("--overlap", type=int, default=32, help="overlap between chunks in tokens (default 32)")
    idx.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2",
                     help="sentence-transformers model name or path (default: all-MiniLM-L6-v2, offline)")
    idx.add_argument("--vector-index", default="Flat", help="FAISS factory string: Flat, HNSW32, IVF256,Flat ...")
    idx.add_argument("--no-vectors", action="store_true", help="BM25 only: skip embedding")
    idx.add_argument("--sync", action="store_true",
                     help="bring an existing collection OUT up to date: only new and changed documents are chunked and "
                          "embedded, removed ones deleted (a full build when OUT does not exist yet)")
    idx.add_argument("--strict", action="store_true", help="fail on any input that would be skipped (unreadable file, ...)")
    idx.add_argument("--report", type=Path, default=None, metavar="FILE",
                     help="write the build report (with every skipped input) as JSON to FILE (its folder must exist)")
    idx.add_argument("--max-file-mb", type=float, default=200.0, metavar="MB",
                     help="skip document files larger than MB megabytes, a number > 0 (default 200)")
    idx.add_argument("--id-field", default=None, help="JSONL/CSV/Parquet: the field holding the document id (default id)")
    idx.add_argument("--text-field", default=None, help="JSONL/CSV/Parquet: the field holding the text (default text)")
    idx.add_argument("--title-field", default=None, help="JSONL/CSV/Parquet: a field prepended to the text as its title")
    idx.add_argument("--metadata-fields", default=None,
                     help="JSONL/CSV/Parquet: comma-separated fields kept as metadata (default: every scalar field)")
    idx.add_argument("--language", default="auto", choices=("auto", *LANGUAGE_CHOICES),
                     help="BM25 analyser: stop words and stemmer of a language, CJK bigrams for zh/ja/ko "
                          "(default auto: English plus CJK bigrams, with a warning when the text looks otherwise)")
    bm25 = idx.add_argument_group("BM25 (see docs/indexes.md)")
    bm25.add_argument("--bm25-variant", choices=("lucene", "okapi", "bm25+", "bm25l"), default="lucene",
                      help="scoring formula (default lucene)")
    bm25.add_argument("--bm25-k1", type=float, default=1.5, help="term-frequency saturation k1 >= 0 (default 1.5)")
    bm25.add_argument("--bm25-b", type=float, default=0.75, help="length normalisation b in [0, 1] (default 0.75)")
    bm25.add_argument("--stemmer", default=None,
                      help="Snowball stemmer (english, porter, german, french, ...) or none (default: the --language one)")
    emb = idx.add_argument_group("embedding")
    emb.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto",
                     help="where the model runs (default auto: cuda when available)")
    emb.add_argument("--batch-size", type=int, default=64, help="texts per model batch (default 64)")


def run(args: argparse.Namespace) -> int:
    from ragkit import (
        BM25Index,
        FaissIndex,
        MarkdownChunker,
        RecursiveChunker,
        SentenceChunker,
        SentenceTransformerEmbedder,
        WholeDocumentChunker,
    )
    from ragkit.core.wording import count
    from ragkit.index.bm25 import BM25Tokenizer
    from ragkit.pipeline import BatchConfig, FolderSource, HashedSource, index_corpus, open_source, sync_collection

    max_bytes = _check_outputs(args)
    config = BatchConfig(engine=args.engine, resume=args.resume, shard_docs=args.shard_docs, keep_shards=args.keep_shards,
                         progress=not args.no_progress, ray_address=args.ray_address, ray_num_cpus=args.ray_num_cpus,
                         strict=args.strict)
    fields = {"id_field": args.id_field, "text_field": args.text_field, "title_field": args.title_field,
              "metadata_fields": [f.strip() for f in args.metadata_fields.split(",") if f.strip()]
              if args.metadata_fields is not None else None}
    source = open_source(args.source, **{k: v for k, v in fields.items() if v is not None}, strict=args.strict,
                         max_bytes=max_bytes)
    kind = args.chunker or ("markdown" if isinstance(source, FolderSource) else "recursive")
    if kind == "sentence":
        chunker: Any = SentenceChunker(max_tokens=args.max_tokens)
    elif kind == "whole":
        chunker = WholeDocumentChunker()
    else:
        cls = MarkdownChunker if kind == "markdown" else RecursiveChunker
        chunker = cls(max_tokens=args.max_tokens, overlap=args.overlap)
    tokenizer = BM25Tokenizer() if args.language == "auto" else BM25Tokenizer.for_language(args.language)
    if args.stemmer is not None:
        tokenizer = dataclasses.replace(tokenizer, stemmer=None if args.stemmer.lower() == "none" else args.stemmer)
    indexes: list[Any] = [BM25Index(args.bm25_variant, k1=args.bm25_k1, b=args.bm25_b, tokenizer=tokenizer)]
    embedder = None
    if not args.no_vectors:
        indexes.insert(0, FaissIndex(args.vector_index))
        embedder = SentenceTransformerEmbedder(args.model, show_progress=False, device=args.device, batch_size=args.batch_size)
    described = source.describe()
    print(f"indexing {described['kind']} source {args.source} with the {args.engine} engine "
          f"({kind} chunks of <= {args.max_tokens} tokens, shards of {count(args.shard_docs, 'document')}"
          f"{', resuming' if args.resume else ''})")
    _warn_about_language(source, tokenizer, None if args.no_vectors else args.model, args.language)
    try:
        if args.sync:
            report: Any = sync_collection(source, args.out, chunker=chunker, embedder=embedder, indexes=indexes, config=config)
        else:
            report = index_corpus(HashedSource(source), args.out, chunker=chunker, embedder=embedder, indexes=indexes,
                                  config=config)
    except KeyboardInterrupt as exc:
        print(interrupted_line(exc, args), file=sys.stderr)
        return 130
    print(report.summary())
    if args.report is not None:
        _write_report(args.report, report.to_dict())
    return 0


def _check_outputs(args: argparse.Namespace) -> int:
    """Check --max-file-mb (returned in bytes), OUT and --report before anything is read or built."""
    from ragkit.cli.checks import megabytes, output_file, output_folder, same_or_inside
    from ragkit.core.errors import InputError

    max_bytes = megabytes("--max-file-mb", args.max_file_mb)
    output_folder("OUT", args.out)
    if args.report is not None:
        output_file("--report", args.report)
        if same_or_inside(args.report, args.out):
            raise InputError(f"--report {args.report}: that is inside the collection folder {args.out}, which the build "
                             "replaces; give a path outside it.")
        if args.report.resolve() == args.source.resolve():
            raise InputError(f"--report {args.report}: that is the source being indexed; give another path.")
    return max_bytes


def _write_report(path: Path, report: dict[str, Any]) -> None:
    """Write the report whole or not at all (a temporary file beside it, renamed)."""
    from ragkit.core.errors import InputError

    staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        staged.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        os.replace(staged, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            staged.unlink(missing_ok=True)
        raise InputError(f"--report {path}: cannot write it ({exc.strerror or exc}); the collection itself was saved.") from exc


def interrupted_line(exc: KeyboardInterrupt, args: argparse.Namespace) -> str:
    """One line: what an interrupted build saved, and the exact command that resumes it."""
    from ragkit.pipeline import BuildInterrupted

    argv = list(getattr(args, "argv", None) or sys.argv[1:])
    command = shlex.join([_program(), *argv, *([] if "--resume" in argv or args.sync else ["--resume"])])
    saved = exc.saved() if isinstance(exc, BuildInterrupted) else _saved_shards(args.out)
    return f"ragkit index: interrupted; {saved}. Resume with: {command}"


def _saved_shards(out: Path) -> str:
    """What the build ledger in ``out`` lists (an interrupt outside the streaming phase, e.g. in the final merge)."""
    from ragkit.core.errors import RagkitError
    from ragkit.core.wording import count
    from ragkit.pipeline.batch import STAGING
    from ragkit.pipeline.shards import LEDGER, Ledger

    try:
        ledger = Ledger.load(out / STAGING / LEDGER, out / STAGING)
    except (RagkitError, OSError):
        ledger = None
    if ledger is None or not ledger.shards:
        return "nothing was saved yet"
    docs = sum(int(entry.get("docs", 0)) for entry in ledger.shards.values())
    verb = "is" if len(ledger.shards) == 1 else "are"
    return f"{count(len(ledger.shards), 'shard')} ({count(docs, 'document')}) {verb} saved in {out / STAGING}"


def _program() -> str:
    """How the user started ragkit: the path they typed (e.g. .venv/bin/ragkit), else ``ragkit``."""
    typed = sys.argv[0] if sys.argv else ""
    return typed if Path(typed).name == "ragkit" else "ragkit"


def _warn_about_language(source: Any, tokenizer: Any, model: str | None, language: str) -> None:
    """Warn (stderr) when a sample of the corpus is in a script or language the analyser or the model does not serve."""
    from ragkit.pipeline import FolderSource
    from ragkit.pipeline.language import language_warnings

    # files: the first 20 (each may be a PDF to parse); records: the first 1,000 (cheap, and few specs to plan)
    plan = source.plan(20 if isinstance(source, FolderSource) else 1000)
    if not plan:
        return
    texts = source.read(plan[0]).column("text").to_pylist()[:200]
    warnings = language_warnings(texts, tokenizer, model)
    if language != "auto":  # the analyser was chosen: only the model's warning is news
        warnings = [w for w in warnings if "embedding model" in w]
    for warning in warnings:
        print(f"ragkit index: warning: {warning}", file=sys.stderr)
