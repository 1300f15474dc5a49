"""The retriever a CLI mode names (shared by `search` and `eval`)."""

from __future__ import annotations

from typing import Any

__all__ = ["MODES", "retriever_for"]

MODES = ("hybrid", "dense", "bm25")


def retriever_for(collection: Any, mode: str, fusion: Any = "rrf") -> Any:
    from ragkit import BM25Retriever, DenseRetriever, HybridRetriever

    if mode == "dense":
        return DenseRetriever(collection)
    if mode == "bm25":
        return BM25Retriever(collection)
    return HybridRetriever(collection, fusion=fusion)
