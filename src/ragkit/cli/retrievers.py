"""The retriever a CLI mode names (shared by `search` and `eval`)."""

from __future__ import annotations

from typing import Any

__all__ = ["MODES", "retriever_for", "supported_modes"]

MODES = ("hybrid", "dense", "bm25")


def retriever_for(collection: Any, mode: str, fusion: Any = "default", *, candidates: int = 100) -> Any:
    """The retriever of ``mode``; ``fusion`` and ``candidates`` (per leg) apply to hybrid."""
    from ragkit.search import BM25Retriever, DenseRetriever, HybridRetriever

    if mode == "dense":
        return DenseRetriever(collection)
    if mode == "bm25":
        return BM25Retriever(collection)
    return HybridRetriever(collection, fusion=fusion, candidates=candidates)


def supported_modes(collection: Any) -> tuple[str, ...]:
    """The modes a collection can run: all three with a vector index, else BM25 only."""
    has_vectors = any(getattr(i, "kind", None) == "vector" for i in collection.indexes.values())
    return MODES if has_vectors else ("bm25",)
