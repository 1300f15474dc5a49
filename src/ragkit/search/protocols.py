"""The roles of the search layer: retrievers (and wrappers), legs, and stages after fusion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    from typing_extensions import Self

    from ragkit.core.results import Candidates, Hit
    from ragkit.core.tracing import Tracer
    from ragkit.search.context import SearchContext
    from ragkit.store.access import Principal
    from ragkit.store.filters import Filter

__all__ = ["HitStage", "Leg", "Retriever", "Stage"]


@runtime_checkable
class Retriever(Protocol):
    """The one shape of every retriever and every wrapper (cache, observed, ...): they stack in any order.

    ``search_batch`` returns hits, ``retrieve`` the ranked rows underneath them;
    ``bind`` returns a copy that searches for one principal; ``generation`` changes
    whenever a result could change (caches compare it).
    """

    name: str
    principal: Principal | None

    @property
    def generation(self) -> tuple[Any, ...]: ...

    def search(self, query: str, k: int = 10, filters: Filter | None = None, *, trace: Tracer | None = None,
               query_vectors: np.ndarray | None = None) -> list[Hit]: ...

    def search_batch(self, queries: Sequence[str], k: int = 10, filters: Filter | None = None, *,
                     trace: Tracer | None = None, query_vectors: np.ndarray | None = None) -> list[list[Hit]]: ...

    def retrieve(self, queries: Sequence[str], k: int, filters: Filter | None = None, *, trace: Tracer | None = None,
                 query_vectors: np.ndarray | None = None) -> list[Candidates]: ...

    def bind(self, principal: Principal) -> Self: ...


@runtime_checkable
class Leg(Protocol):
    """A source of ranked rows inside one search: it reads the shared :class:`SearchContext`."""

    name: str

    def candidates(self, context: SearchContext, k: int) -> list[Candidates]:
        """Top-``k`` rows per query of ``context``, restricted to ``context.mask``."""
        ...


@runtime_checkable
class Stage(Protocol):
    """A step after fusion (reranking, diversity, context expansion, ...).

    The planner asks the retriever for the largest ``depth(k)`` of its stages, cuts the
    fused candidates to the rows the search may return (filter and access mask), then
    runs each stage in order: ``apply`` gets the search's ``k``, or more when a later
    stage wants more (its ``depth(k)``), and returns at most that many per query. Stages
    see the same :class:`SearchContext` as the legs (queries, mask, query vectors,
    per-leg candidates in ``context.legs``, where a stage may add its own ranking so
    hits report it as a leg), and whatever a stage returns is cut to the rows the
    principal may see. Each stage's time shows in traces under its ``name``.
    """

    name: str

    def depth(self, k: int) -> int:
        """How many candidates per query this stage wants from the step before it (>= k)."""
        ...

    def apply(self, context: SearchContext, candidates: list[Candidates], k: int) -> list[Candidates]: ...


@runtime_checkable
class HitStage(Stage, Protocol):
    """A stage that also reshapes the final hits (context expansion: a hit becomes a larger span).

    After the hits are read, the planner calls ``finish`` of each such stage in order;
    ``retrieve`` (rows, no hits) runs only ``apply``. Its time shows as ``<name>.hits``.
    """

    def finish(self, context: SearchContext, hits: list[list[Hit]]) -> list[list[Hit]]: ...
