"""What every retriever wrapper shares: it delegates the retriever shape to the retriever it wraps."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ragkit.search.aio import run_off_loop

if TYPE_CHECKING:
    import numpy as np
    from typing_extensions import Self

    from ragkit.core.results import Hit
    from ragkit.core.tracing import Tracer
    from ragkit.search.aio import AsyncLimit
    from ragkit.store.access import Principal

__all__ = ["RetrieverWrapper"]


class RetrieverWrapper:
    """A retriever around ``self.retriever``: ``collection``, ``principal`` and ``generation`` are its,
    ``bind`` wraps the bound retriever (sharing everything else), ``search`` is ``search_batch`` of one.

    Subclasses implement ``search_batch`` and ``retrieve`` and may clear per-call state in :meth:`_fresh`.
    """

    retriever: Any
    name: str

    @property
    def collection(self) -> Any:
        return getattr(self.retriever, "collection", None)

    @property
    def principal(self) -> Any:
        """The principal the wrapped retriever is bound to (``None``: unbound)."""
        return getattr(self.retriever, "principal", None)

    @property
    def generation(self) -> tuple[Any, ...]:
        return tuple(self.retriever.generation)

    def bind(self, principal: Principal) -> Self:
        """This wrapper around ``retriever.bind(principal)``."""
        bound = copy.copy(self)
        bound.retriever = self.retriever.bind(principal)
        bound._fresh()
        return bound

    @property
    def stages(self) -> tuple[Any, ...]:
        """The stages after fusion of the wrapped retriever."""
        return tuple(getattr(self.retriever, "stages", ()))

    def then(self, *stages: Any) -> Self:
        """This wrapper around ``retriever.then(*stages)``: the stages run inside the wrapped retriever's search."""
        out = copy.copy(self)
        out.retriever = self.retriever.then(*stages)
        out._fresh()
        return out

    def _fresh(self) -> None:
        """Forget what the last call left behind (a bound copy starts clean)."""

    def search(self, query: str, k: int = 10, filters: Mapping[str, Any] | None = None, *, trace: Tracer | None = None,
               query_vectors: np.ndarray | None = None) -> list[Hit]:
        return self.search_batch([query], k, filters, trace=trace, query_vectors=query_vectors)[0]  # type: ignore[attr-defined,no-any-return]

    async def asearch(self, query: str, k: int = 10, filters: Mapping[str, Any] | None = None, *,
                      trace: Tracer | None = None, query_vectors: np.ndarray | None = None,
                      limit: AsyncLimit | None = None) -> list[Hit]:
        """``search``, awaited: it runs in a worker thread (see :mod:`ragkit.search.aio`)."""
        return await run_off_loop(limit, self.search, query, k, filters, trace=trace, query_vectors=query_vectors)

    async def asearch_batch(self, queries: Sequence[str], k: int = 10, filters: Mapping[str, Any] | None = None, *,
                            trace: Tracer | None = None, query_vectors: np.ndarray | None = None,
                            limit: AsyncLimit | None = None) -> list[list[Hit]]:
        """``search_batch``, awaited: it runs in a worker thread (see :mod:`ragkit.search.aio`)."""
        return await run_off_loop(limit, self.search_batch, queries, k, filters,  # type: ignore[attr-defined]
                                  trace=trace, query_vectors=query_vectors)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.retriever!r})"
