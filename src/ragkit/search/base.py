"""What every retriever shares: ``search`` / ``search_batch`` / ``retrieve`` on top of the planner, ``bind``, stages."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ragkit.core.errors import ConfigError, InputError
from ragkit.core.results import Candidates, Hit
from ragkit.core.validation import check_role
from ragkit.search.aio import AsyncLimit, run_off_loop
from ragkit.search.context import SearchContext, check_queries
from ragkit.search.planner import run_search
from ragkit.store.access import Principal
from ragkit.store.filters import Filter

if TYPE_CHECKING:
    from typing_extensions import Self

    from ragkit.core.tracing import Tracer
    from ragkit.search.protocols import Stage
    from ragkit.store.storage import SearchStorage

__all__ = ["BaseRetriever", "check_queries"]


class BaseRetriever:
    """A retriever over a storage (a :class:`~ragkit.Collection` or :class:`~ragkit.ShardedCollection`).

    Subclasses implement :meth:`candidates` (the rows for a :class:`SearchContext`) and
    :attr:`generation`; everything else — validation, the read snapshot, the filter and
    access mask compiled once, stages after fusion, hits — is the planner's
    (:mod:`ragkit.search.planner`).
    """

    name = "retriever"
    #: True for retrievers made of sub-legs (hybrid): their candidates() runs and fuses them.
    composite = False
    #: The principal this retriever searches for (``None``: unbound; see :meth:`bind`).
    principal: Principal | None = None
    #: Stages run after this retriever's candidates (see :meth:`then`).
    stages: tuple[Stage, ...] = ()

    def __init__(self, collection: SearchStorage) -> None:
        check_role(type(self).__name__, "collection", collection, "collection (open_collection(path) or build_collection(...))",
                   ("index", "index_of_kind", "reading", "hits", "filter_mask"))
        self.collection = collection

    # -- what subclasses provide ---------------------------------------------------------
    def candidates(self, context: SearchContext, k: int) -> list[Candidates]:
        """Top-``k`` rows per query of ``context`` (restricted to ``context.mask``)."""
        raise NotImplementedError(f"{type(self).__name__} implements neither candidates() nor retrieve().")

    @property
    def generation(self) -> tuple[int, ...]:
        """The change counters of what this retriever reads: a change means results may differ."""
        raise NotImplementedError

    # -- composition ----------------------------------------------------------------------
    def bind(self, principal: Principal) -> Self:
        """A copy of this retriever that only ever returns chunks ``principal`` may see.

        The principal's row mask is ANDed into every leg's pre-filter (never applied after
        ranking). Required before searching a collection that has an access field.

        Raises:
            InputError: ``principal`` is not a :class:`Principal`.
        """
        if not isinstance(principal, Principal):
            raise InputError(f"bind() takes a ragkit Principal. Got {type(principal).__name__}.")
        bound = copy.copy(self)
        bound.principal = principal
        return bound

    def then(self, *stages: Stage) -> Self:
        """A copy that runs ``stages`` after this retriever (reranking, diversity, expansion, ...).

        Raises:
            ConfigError: an object without ``name``, ``depth(k)`` and ``apply(context, candidates, k)``.
        """
        from ragkit.search.protocols import Stage

        for stage in stages:
            if isinstance(stage, type) or not isinstance(stage, Stage):
                got = f"the class {stage.__name__}: write {stage.__name__}(...)" if isinstance(stage, type) else type(stage).__name__
                raise ConfigError(f"then() takes stages (objects with name, depth(k) and apply(context, candidates, k)). "
                                  f"Got {got}.")
        out = copy.copy(self)
        out.stages = (*self.stages, *stages)
        return out

    # -- searching ------------------------------------------------------------------------
    def retrieve(self, queries: Sequence[str], k: int, filters: Filter | None = None, *,
                 trace: Tracer | None = None, query_vectors: np.ndarray | None = None) -> list[Candidates]:
        """The ranked rows behind :meth:`search_batch` (arrays, no hit records)."""
        out = run_search(self, queries, k, filters, trace=trace, query_vectors=query_vectors, materialise=False,
                         stages=self.stages, own=True)
        return out  # type: ignore[return-value]

    def search(self, query: str, k: int = 10, filters: Filter | None = None, *, trace: Tracer | None = None,
               query_vectors: np.ndarray | None = None) -> list[Hit]:
        """The ``k`` best chunks for ``query``, best first.

        ``trace`` (a :class:`ragkit.observe.Trace`) receives the stage timings and per-leg candidates.

        Raises:
            InputError: empty query or ``k < 1``.
            FilterError: a filter on an unknown field or with an unknown operator.
            AccessError: the collection restricts access and this retriever is not bound.
        """
        if not isinstance(query, str):
            raise InputError(f"The query must be a str. Got {type(query).__name__}.")
        return self.search_batch([query], k, filters, trace=trace, query_vectors=query_vectors)[0]

    def search_batch(self, queries: Sequence[str], k: int = 10, filters: Filter | None = None, *,
                     trace: Tracer | None = None, query_vectors: np.ndarray | None = None) -> list[list[Hit]]:
        """:meth:`search` for many queries at once (embeds them in one batch).

        ``query_vectors``: the queries' embeddings by the collection's embedder, when already
        computed (one row per query); dense legs then skip embedding.
        """
        out = run_search(self, queries, k, filters, trace=trace, query_vectors=query_vectors, materialise=True,
                         stages=self.stages)
        return out  # type: ignore[return-value]

    # -- searching from an event loop (ragkit.search.aio) -------------------------------------
    async def asearch(self, query: str, k: int = 10, filters: Filter | None = None, *, trace: Tracer | None = None,
                      query_vectors: np.ndarray | None = None, limit: AsyncLimit | None = None) -> list[Hit]:
        """:meth:`search`, awaited: it runs in a worker thread (``limit``: at most that many at once).

        Cancelling it drops a search that has not started; one already running finishes
        in its thread and its result is discarded (see :mod:`ragkit.search.aio`).
        """
        return await run_off_loop(limit, self.search, query, k, filters, trace=trace, query_vectors=query_vectors)

    async def asearch_batch(self, queries: Sequence[str], k: int = 10, filters: Filter | None = None, *,
                            trace: Tracer | None = None, query_vectors: np.ndarray | None = None,
                            limit: AsyncLimit | None = None) -> list[list[Hit]]:
        """:meth:`search_batch`, awaited (see :meth:`asearch`)."""
        return await run_off_loop(limit, self.search_batch, queries, k, filters, trace=trace, query_vectors=query_vectors)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.collection!r})"


def own_generation(storage: Any, index: Any) -> tuple[int, ...]:
    """The generation of a leg reading one index of ``storage``."""
    return (int(storage.generation), int(index.generation))
