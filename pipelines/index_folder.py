"""Index a folder of markdown/text files: markdown-aware chunks, dense HNSW + BM25.

    python pipelines/index_folder.py docs/ indexes/docs
"""

from __future__ import annotations

import argparse
from pathlib import Path

import ragkit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path, nargs="?", default=Path("indexes/folder"))
    args = parser.parse_args()

    documents = list(ragkit.read_folder(args.source))
    collection = ragkit.build_collection(
        documents,
        chunker=ragkit.MarkdownChunker(max_tokens=254, overlap=32),
        embedder=ragkit.SentenceTransformerEmbedder(show_progress=True),
        indexes=[ragkit.FaissIndex("HNSW32", ef_search=128), ragkit.BM25Index()],
    )
    collection.save(args.out)
    print(f"{len(documents)} documents -> {collection.num_chunks} chunks -> {args.out}")


if __name__ == "__main__":
    main()
