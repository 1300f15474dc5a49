"""The retrievers named by a mode string (``ragkit search --mode``, ``ragkit serve --mode``, the Haystack component)."""

from __future__ import annotations

from typing import Any

from ragkit.core.validation import check_choice

__all__ = ["MODES", "available_mode", "retriever_for"]

MODES = ("hybrid", "dense", "bm25")


def retriever_for(collection: Any, mode: str, fusion: Any = None) -> Any:
    """The retriever of ``mode`` over ``collection`` (``fusion`` for hybrid; ``None``: the hybrid's default).

    Raises:
        ConfigError: an unknown mode or fusion.
    """
    from ragkit.search.hybrid import HybridRetriever
    from ragkit.search.single import BM25Retriever, DenseRetriever

    check_choice("retriever_for", "mode", mode, MODES)
    if mode == "dense":
        return DenseRetriever(collection)
    if mode == "bm25":
        return BM25Retriever(collection)
    return HybridRetriever(collection) if fusion is None else HybridRetriever(collection, fusion=fusion)


def available_mode(collection: Any, mode: str) -> str:
    """``mode``, or ``"bm25"`` for a hybrid search of a collection that has no vector index."""
    if mode == "hybrid" and not any(getattr(i, "kind", None) == "vector" for i in collection.indexes.values()):
        return "bm25"
    return mode
