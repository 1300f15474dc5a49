"""What search needs from storage: one protocol that single and sharded collections both implement.

The search planner (:mod:`ragkit.search.planner`) talks to storage only through this
protocol: it compiles the filter and access mask once, embeds the queries once, asks the
indexes for rows, and turns the final rows into hits. A new kind of storage (remote,
tiered, ...) plugs in by implementing it; the retrievers and every stage after fusion
then work on it unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from ragkit.core.protocols import Embedder, IndexKind, SearchIndex
    from ragkit.core.results import Candidates, Hit
    from ragkit.store.access import Principal
    from ragkit.store.filters import Filter

__all__ = ["SearchStorage"]


@runtime_checkable
class SearchStorage(Protocol):
    """Rows of chunks and the indexes over them, as the search planner sees them.

    Row ``i`` is row ``i`` of :attr:`chunks` and of every index. Rows are never reused;
    a deleted row stays in the table (dead) and no index returns it.
    """

    @property
    def chunks(self) -> pa.Table:
        """The chunk table (doc_id, text, start, end, position, metadata), one row per row."""
        ...

    @property
    def num_rows(self) -> int:
        """Rows, dead ones included."""
        ...

    @property
    def num_chunks(self) -> int:
        """Live chunks (rows not deleted)."""
        ...

    @property
    def num_documents(self) -> int:
        """Documents with at least one live chunk."""
        ...

    @property
    def generation(self) -> int:
        """Changes whenever the content changes (caches compare it)."""
        ...

    @property
    def access_field(self) -> str | None:
        """Metadata field naming who may see each chunk, or ``None`` (no access control)."""
        ...

    @property
    def embedder(self) -> Embedder | None: ...

    def reading(self) -> AbstractContextManager[None]:
        """Hold one version of the content for the ``with`` body (changes wait)."""
        ...

    def index(self, name: str) -> SearchIndex: ...

    def index_of_kind(self, kind: IndexKind) -> str: ...

    def filter_mask(self, filters: Filter | None, principal: Principal | None = None) -> np.ndarray | None:
        """Rows that satisfy ``filters`` and that ``principal`` may see (``None``: every row)."""
        ...

    def access_mask(self, principal: Principal) -> np.ndarray:
        """Rows ``principal`` may see."""
        ...

    def embed_queries(self, queries: Sequence[str]) -> np.ndarray:
        """Query vectors from the embedder that made the stored vectors."""
        ...

    def hits(self, candidates: Candidates, legs: Mapping[str, Candidates] | None = None) -> list[Hit]:
        """Hit records for ranked rows, each with its rank and score in every leg that found it."""
        ...

    def close(self) -> None: ...
