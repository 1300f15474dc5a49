"""Search a saved collection with hybrid retrieval and print ranked chunks.

    python pipelines/search.py indexes/docs "how is a collection saved?" -k 5
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import ragkit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("collection", type=Path)
    parser.add_argument("query")
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--weights", type=float, nargs=2, default=None, metavar=("BM25", "DENSE"),
                        help="use min-max score fusion with these weights instead of RRF")
    parser.add_argument("--filter", type=json.loads, default=None, help="JSON metadata filter")
    args = parser.parse_args()

    collection = ragkit.Collection.open(args.collection)
    fusion = ragkit.ScoreFusion(weights=tuple(args.weights)) if args.weights else ragkit.RRF(k=60)
    retriever = ragkit.HybridRetriever(collection, fusion=fusion)
    for rank, hit in enumerate(retriever.search(args.query, k=args.k, filters=args.filter), 1):
        legs = ", ".join(f"{name} #{leg.rank}" for name, leg in sorted(hit.legs.items()))
        print(f"{rank:>2}. {hit.score:.4f}  {hit.doc_id} [{hit.start}:{hit.end}]  ({legs})")
        print(f"    {' '.join(hit.text.split())[:160]}")


if __name__ == "__main__":
    main()
