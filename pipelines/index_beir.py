"""Index a BEIR-layout corpus (corpus.jsonl): recursive chunks, exact dense search + BM25.

    python pipelines/index_beir.py ../shared/data/scifact indexes/scifact
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import ragkit
from ragkit.eval import load_beir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="BEIR folder")
    parser.add_argument("out", type=Path, nargs="?", default=None, help="default: indexes/<dataset name>")
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2")
    parser.add_argument("--query-prompt", default="", help='e.g. "Represent this sentence for searching relevant passages: "')
    args = parser.parse_args()

    dataset = load_beir(args.data)
    start = time.perf_counter()
    collection = ragkit.build_collection(
        dataset.documents,
        chunker=ragkit.RecursiveChunker(max_tokens=254, overlap=32),
        embedder=ragkit.SentenceTransformerEmbedder(args.model, query_prompt=args.query_prompt, show_progress=True),
        indexes=[ragkit.FaissIndex("Flat"), ragkit.BM25Index(variant="lucene")],
    )
    out = collection.save(args.out or Path("indexes") / dataset.name)
    print(f"{dataset.name}: {collection.num_chunks} chunks in {time.perf_counter() - start:.0f}s -> {out}")


if __name__ == "__main__":
    main()
