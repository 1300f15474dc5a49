"""Single-leg retrievers: dense vectors and BM25."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ragkit.core.errors import InputError
from ragkit.core.results import Candidates
from ragkit.core.validation import check_k
from ragkit.search.base import BaseRetriever, check_queries
from ragkit.store.filters import Filter

if TYPE_CHECKING:
    from ragkit.observe.trace import Trace
    from ragkit.store.collection import Collection

__all__ = ["DenseRetriever", "BM25Retriever"]


class DenseRetriever(BaseRetriever):
    """Nearest chunks by embedding similarity (the collection's vector index).

    Example:
        >>> DenseRetriever(collection).search("how do I save an index?", k=5)  # doctest: +SKIP
    """

    name = "dense"

    def __init__(self, collection: Collection, index: str | None = None) -> None:
        super().__init__(collection)
        self.index_name = index or collection.index_of_kind("vector")
        self.index = collection.index(self.index_name)

    @property
    def generation(self) -> tuple[int, ...]:
        return (self.collection.generation, self.index.generation)

    def retrieve(self, queries: Sequence[str], k: int, filters: Filter | None = None, *,
                 trace: Trace | None = None, query_vectors: np.ndarray | None = None) -> list[Candidates]:
        check_k(type(self).__name__, k)
        queries = check_queries(queries)
        with self.collection.reading():  # one version for the whole search
            mask = self._mask(filters)
            if trace is not None:
                trace.scope = self.name
                trace.lap("filter")
            if query_vectors is None:
                vectors = self.collection.embed_queries(queries)
            elif len(query_vectors) != len(queries):
                raise InputError(f"query_vectors has {len(query_vectors)} rows for {len(queries)} queries; give one per query.")
            else:
                vectors = query_vectors
            if trace is not None:
                trace.lap("embed")
            found: list[Candidates] = self.index.search_rows(vectors, k, mask)
            if trace is not None:
                trace.lap("search")
                trace.leg(self.name, found)
            return found


class BM25Retriever(BaseRetriever):
    """Chunks ranked by BM25 (the collection's BM25 index).

    Example:
        >>> BM25Retriever(collection).search("faiss hnsw", k=5)  # doctest: +SKIP
    """

    name = "bm25"

    def __init__(self, collection: Collection, index: str | None = None) -> None:
        super().__init__(collection)
        self.index_name = index or collection.index_of_kind("bm25")
        self.index = collection.index(self.index_name)

    @property
    def generation(self) -> tuple[int, ...]:
        return (self.collection.generation, self.index.generation)

    def retrieve(self, queries: Sequence[str], k: int, filters: Filter | None = None, *,
                 trace: Trace | None = None, query_vectors: np.ndarray | None = None) -> list[Candidates]:
        check_k(type(self).__name__, k)
        queries = check_queries(queries)
        with self.collection.reading():  # one version for the whole search
            mask = self._mask(filters)
            if trace is None:
                return self.index.search_rows(queries, k, mask)  # type: ignore[no-any-return]
            trace.scope = self.name
            trace.lap("filter")
            found: list[Candidates] = self.index.search_rows(queries, k, mask, trace=trace)  # laps "tokenize"
            trace.lap("search")
            trace.leg(self.name, found)
            return found
