"""The demo: index ragkit's own docs/ (only when they changed) and answer three questions, in one process.

    python pipelines/demo.py                       # what scripts/demo.sh runs
    python pipelines/demo.py --rebuild "my question" "another one"

The collection (the Markdown files of docs/) goes to ``indexes/ragkit-docs``; beside it,
``.docs-sha256`` records a hash of those files and the build settings. A later run whose docs hash the same opens
the saved collection instead of embedding everything again. The model loads once, for the
build (if any) and the queries.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The demo's questions; a judged question set over docs/ will replace them.
QUERIES = (
    "How do I make sure each tenant or user group only ever sees its own documents in search results?",
    "What does the saved JSON file record about the chunker, embedder, counts and the version that wrote it?",
    "Is it safe to run searches in several threads while another thread updates and saves the collection?",
)
STAMP = ".docs-sha256"


def docs_hash(docs: Path, settings: dict[str, object]) -> str:
    """sha256 over the relative path and bytes of every Markdown file under ``docs``, and the settings."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for path in sorted(p for p in docs.rglob("*.md") if p.is_file() and not any(part.startswith(".") for part in p.parts)):
        digest.update(str(path.relative_to(docs)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("queries", nargs="*", default=list(QUERIES), help="questions (default: the demo's three)")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs", help="folder to index (default docs/)")
    parser.add_argument("--out", type=Path, default=ROOT / "indexes" / "ragkit-docs", help="collection folder")
    parser.add_argument("-k", type=int, default=3, help="hits per question (default 3)")
    parser.add_argument("--rebuild", action="store_true", help="index again even if docs/ did not change")
    args = parser.parse_args(argv)

    from ragkit import HybridRetriever, MarkdownChunker, SentenceTransformerEmbedder, open_collection
    from ragkit.cli.format import hit_line
    from ragkit.pipeline import FolderSource, index_corpus

    start = time.perf_counter()
    embedder = SentenceTransformerEmbedder(show_progress=False)
    settings = {"chunker": "markdown", "max_tokens": 254, "overlap": 32, "model": embedder.model_id, "indexes": ["Flat", "bm25"]}
    want = docs_hash(args.docs, settings)
    stamp = args.out / STAMP
    fresh = not args.rebuild and stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == want
    if fresh:
        print(f"{args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}: docs unchanged since "
              "it was built; reusing it (--rebuild to index again)")
    else:
        from ragkit import BM25Index, FaissIndex

        stamp.unlink(missing_ok=True)
        report = index_corpus(FolderSource(args.docs, suffixes=(".md",)), args.out,
                              chunker=MarkdownChunker(max_tokens=254, overlap=32), embedder=embedder,
                              indexes=[FaissIndex("Flat"), BM25Index()], progress=sys.stderr.isatty())
        print(report.summary())
        stamp.write_text(want + "\n", encoding="utf-8")
    collection = open_collection(args.out, embedder=embedder)
    results = HybridRetriever(collection).search_batch(args.queries, k=args.k)
    for query, hits in zip(args.queries, results, strict=True):
        print(f"\n> {query}")
        for rank, hit in enumerate(hits, 1):
            print(hit_line(rank, hit))
        if not hits:
            print("  (no hits)")
    out = args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out
    print(f"\n{time.perf_counter() - start:.1f}s. Next, ask your own questions:\n"
          f"  .venv/bin/ragkit search {out} \"your question\"\n"
          "or put ragkit on your PATH for this shell first: source .venv/bin/activate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
