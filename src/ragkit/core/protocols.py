"""The role protocols every ragkit piece fits; any object with these methods plugs in."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from ragkit.core.documents import Chunk, Document
    from ragkit.core.results import Candidates

__all__ = ["Chunker", "Embedder", "Fusion", "IndexKind", "Reranker", "SearchIndex", "TokenCounter", "VectorIndex"]


@runtime_checkable
class TokenCounter(Protocol):
    """Finds token boundaries, so chunkers can measure text in model tokens."""

    def token_starts(self, text: str) -> np.ndarray:
        """Character offsets at which each token of ``text`` starts (int64, ascending)."""
        ...


@runtime_checkable
class Chunker(Protocol):
    """Splits a document into chunks whose offsets point back into its text."""

    def chunk(self, document: Document) -> list[Chunk]: ...

    def get_config(self) -> dict[str, Any]: ...


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, with distinct query and document modes."""

    @property
    def dimension(self) -> int: ...

    @property
    def model_id(self) -> str:
        """Identifies the model: an index built with one model refuses queries from another."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def get_config(self) -> dict[str, Any]: ...


@runtime_checkable
class Reranker(Protocol):
    """Scores (query, passage) pairs jointly, e.g. a cross-encoder: higher is more relevant."""

    @property
    def model_id(self) -> str: ...

    def score(self, queries: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        """One float64 relevance score per pair ``(queries[i], texts[i])``; the two lists have equal length."""
        ...

    def get_config(self) -> dict[str, Any]: ...


IndexKind = Literal["vector", "bm25"]


@runtime_checkable
class SearchIndex(Protocol):
    """An index over the rows of a chunk table: row ``i`` of the index is row ``i`` of the table.

    ``kind`` says what it searches with: ``"vector"`` indexes take query vectors,
    ``"bm25"`` indexes take query strings. Rows are never reused: a deleted row stays
    (dead) until the collection is rebuilt.
    """

    kind: IndexKind

    @property
    def generation(self) -> int:
        """Bumped by every build, add and delete: equal values mean unchanged rows."""
        ...

    @property
    def num_rows(self) -> int:
        """Rows of the index, deleted ones included."""
        ...

    def build(self, data: Any) -> Any: ...

    def add(self, data: Any) -> np.ndarray: ...

    def delete(self, rows: Any) -> None: ...

    def search_rows(self, queries: Any, k: int, allowed: np.ndarray | None = None) -> list[Candidates]:
        """Top-``k`` rows per query, best first; ``allowed`` is a boolean row mask applied before top-k."""
        ...

    def save(self, directory: Path) -> list[str]: ...

    def get_config(self) -> dict[str, Any]: ...


@runtime_checkable
class VectorIndex(SearchIndex, Protocol):
    """A ``kind == "vector"`` index: it searches unit query vectors of one dimension."""

    @property
    def dimension(self) -> int: ...


@runtime_checkable
class Fusion(Protocol):
    """Merges the ranked candidates of several retrievers into one ranking."""

    def fuse(self, legs: Sequence[Candidates], k: int) -> Candidates: ...
