"""Single-leg retrievers: dense (the collection's vector index) and BM25 (its BM25 index)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragkit.core.results import Candidates
from ragkit.search.base import BaseRetriever, own_generation
from ragkit.search.context import SearchContext

if TYPE_CHECKING:
    from ragkit.core.protocols import IndexKind
    from ragkit.store.storage import SearchStorage

__all__ = ["DenseRetriever", "BM25Retriever", "IndexLeg"]


class IndexLeg(BaseRetriever):
    """A leg that reads one index of the storage: the first of its ``kind`` unless ``index`` names one."""

    kind: IndexKind = "vector"

    def __init__(self, collection: SearchStorage, index: str | None = None) -> None:
        super().__init__(collection)
        self.index_name = index or collection.index_of_kind(self.kind)
        self.index = collection.index(self.index_name)

    @property
    def generation(self) -> tuple[int, ...]:
        return own_generation(self.collection, self.index)


class DenseRetriever(IndexLeg):
    """The dense leg: nearest chunks by embedding similarity (the collection's vector index).

    Example:
        >>> DenseRetriever(collection).search("how do I save an index?", k=5)  # doctest: +SKIP
    """

    name = "dense"
    kind: IndexKind = "vector"

    def candidates(self, context: SearchContext, k: int) -> list[Candidates]:
        """Embeds the queries once per search (shared by every dense leg), then searches the vector index."""
        trace = context.trace
        vectors = context.vectors()
        if trace is not None:
            trace.lap("embed")
        found: list[Candidates] = self.index.search_rows(vectors, k, context.mask)
        if trace is not None:
            trace.lap("search")
        return found


class BM25Retriever(IndexLeg):
    """The BM25 leg: chunks ranked by BM25 (the collection's BM25 index).

    Example:
        >>> BM25Retriever(collection).search("faiss hnsw", k=5)  # doctest: +SKIP
    """

    name = "bm25"
    kind: IndexKind = "bm25"

    def candidates(self, context: SearchContext, k: int) -> list[Candidates]:
        trace = context.trace
        if trace is None:
            return self.index.search_rows(context.queries, k, context.mask)  # type: ignore[call-arg]
        found: list[Candidates] = self.index.search_rows(context.queries, k, context.mask, trace=trace)  # type: ignore[call-arg]
        trace.lap("search")
        return found
