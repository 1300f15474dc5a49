"""Single-leg retrievers: dense (the collection's vector index) and BM25 (its BM25 index)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from ragkit.core.errors import ConfigError
from ragkit.core.results import Candidates
from ragkit.core.validation import check_choice
from ragkit.search.base import BaseRetriever, own_generation
from ragkit.search.context import SearchContext
from ragkit.search.document_scope import DocumentView, supports_document_scope

if TYPE_CHECKING:
    from ragkit.core.protocols import IndexKind
    from ragkit.store.storage import SearchStorage

__all__ = ["AUTO_DOCUMENT_CHUNKS", "DenseRetriever", "BM25Retriever", "IndexLeg"]

#: ``BM25Retriever(scope="auto")`` ranks whole documents when they average at most this many chunks.
AUTO_DOCUMENT_CHUNKS = 4


class IndexLeg(BaseRetriever):
    """A leg that reads one index of the storage: the first of its ``kind`` unless ``index`` names one."""

    kind: IndexKind = "vector"

    def __init__(self, collection: SearchStorage, index: str | None = None) -> None:
        super().__init__(collection)
        self.index_name = index if index is not None else collection.index_of_kind(self.kind)
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

    def score_rows(self, context: SearchContext, rows: list[np.ndarray]) -> list[np.ndarray] | None:
        """Each given row's similarity to its query (the inner product the index ranks by); None when the index
        keeps no exact vectors to compute it from, or compares binary codes."""
        row_vectors = getattr(self.index, "row_vectors", None)
        if row_vectors is None or getattr(self.index, "binary", False):
            return None
        vectors = context.vectors()
        sizes = [r.shape[0] for r in rows]
        if not sum(sizes):
            return [np.empty(0, dtype=np.float64) for _ in rows]
        unique, where = np.unique(np.concatenate(rows), return_inverse=True)  # each stored vector read once
        stored = row_vectors(unique)
        owner = np.repeat(np.arange(len(rows)), sizes)
        scores = np.einsum("ij,ij->i", stored[where.ravel()], vectors[owner]).astype(np.float64)
        return np.split(scores, np.cumsum(sizes)[:-1])


class BM25Retriever(IndexLeg):
    """The BM25 leg: chunks ranked by BM25 (the collection's BM25 index).

    ``scope="document"`` ranks whole documents (every chunk's terms counted together, with
    document-level statistics, corpus-wide on a sharded collection) and returns each
    document's best chunk with the document's score (:mod:`ragkit.search.document_scope`);
    ``"chunk"`` ranks chunks on their own; ``"auto"`` (default) is ``"document"`` where the
    index supports it (ragkit's BM25 indexes) and documents average at most
    :data:`AUTO_DOCUMENT_CHUNKS` chunks (abstracts, FAQ entries, short articles), ``"chunk"``
    otherwise (long documents, where a section is the unit of an answer), decided when the
    retriever is made.

    Example:
        >>> BM25Retriever(collection).search("faiss hnsw", k=5)  # doctest: +SKIP

    Raises:
        ConfigError: an unknown ``scope``, or ``"document"`` on a storage that cannot derive it.
    """

    name = "bm25"
    kind: IndexKind = "bm25"

    def __init__(self, collection: SearchStorage, index: str | None = None, *,
                 scope: Literal["auto", "document", "chunk"] = "auto") -> None:
        super().__init__(collection, index)
        check_choice("BM25Retriever", "scope", scope, ("auto", "document", "chunk"))
        supported = supports_document_scope(collection, self.index)
        if scope == "document" and not supported:
            raise ConfigError("BM25Retriever(scope='document') needs a BM25 index that can derive document "
                              f"statistics (BM25Index); {type(self.index).__name__} supports scope='chunk' only.")
        if scope == "auto":  # documents of a few chunks (abstracts, FAQ entries) rank best as wholes; long ones by chunk
            per_document = collection.num_chunks / max(int(collection.num_documents), 1)
            scope = "document" if supported and per_document <= AUTO_DOCUMENT_CHUNKS else "chunk"
        self.scope = scope
        self._documents = DocumentView() if self.scope == "document" else None

    def candidates(self, context: SearchContext, k: int) -> list[Candidates]:
        trace = context.trace
        if self._documents is not None:
            documents = self._documents.search(self.collection, self.index, context.queries, k, context.mask, trace)
            if trace is not None:
                trace.lap("search")
            return documents
        if trace is None:
            return self.index.search_rows(context.queries, k, context.mask)  # type: ignore[call-arg]
        found: list[Candidates] = self.index.search_rows(context.queries, k, context.mask, trace=trace)  # type: ignore[call-arg]
        trace.lap("search")
        return found

    def score_rows(self, context: SearchContext, rows: list[np.ndarray]) -> list[np.ndarray] | None:
        """Each given row's BM25 score for its query, on this leg's scale (its document's score at document
        scope); None when the index cannot score given rows."""
        if self._documents is not None:
            return self._documents.score_rows(self.collection, self.index, list(context.queries), rows, context.mask)
        score = getattr(self.index, "score_rows", None)
        return None if score is None else list(score(list(context.queries), rows))
