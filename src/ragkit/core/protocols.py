"""The role protocols every ragkit piece fits; any object with these methods plugs in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from ragkit.core.documents import Chunk, Document
    from ragkit.core.results import Candidates

__all__ = ["Chunker", "Embedder", "TokenCounter", "SearchIndex", "Retriever", "Fusion"]


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
class SearchIndex(Protocol):
    """An index over the chunk rows of a collection (vector or lexical)."""

    kind: str

    def search_rows(self, queries: Any, k: int, allowed: np.ndarray | None = None) -> list[Candidates]: ...

    def get_config(self) -> dict[str, Any]: ...


@runtime_checkable
class Retriever(Protocol):
    """Answers queries with ranked candidates (chunk rows and scores)."""

    name: str

    def retrieve(self, queries: Sequence[str], k: int, filters: Any = None) -> list[Candidates]: ...


@runtime_checkable
class Fusion(Protocol):
    """Merges the ranked candidates of several retrievers into one ranking."""

    def fuse(self, legs: Sequence[Candidates], k: int) -> Candidates: ...
