"""Shared behaviour of retrievers: user-facing ``search`` on top of array-level ``retrieve``."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ragkit.core.errors import InputError
from ragkit.core.results import Candidates, Hit
from ragkit.core.validation import check_k
from ragkit.store.access import Principal
from ragkit.store.filters import Filter

if TYPE_CHECKING:
    from typing_extensions import Self

    from ragkit.observe.trace import Trace
    from ragkit.store.collection import Collection

__all__ = ["BaseRetriever", "check_queries", "optional_args"]


def optional_args(trace: Trace | None, query_vectors: np.ndarray | None) -> dict[str, Any]:
    """The keyword arguments actually given, so a ``retrieve(queries, k, filters)`` written before them still works."""
    out: dict[str, Any] = {}
    if trace is not None:
        out["trace"] = trace
    if query_vectors is not None:
        out["query_vectors"] = query_vectors
    return out


def check_queries(queries: Sequence[str]) -> list[str]:
    """Validate a batch of query strings.

    Raises:
        InputError: a bare string instead of a list, a non-string, or an empty query.
    """
    if isinstance(queries, str):
        raise InputError("Expected a list of queries, got a single str; use search(query) or wrap it as [query].")
    out = list(queries)
    for i, q in enumerate(out):
        if not isinstance(q, str):
            raise InputError(f"Query {i} is a {type(q).__name__}, not a str.")
        if not q.strip():
            raise InputError(f"Query {i} is empty; give some text to search for.")
    return out


class BaseRetriever:
    """Retrievers implement :meth:`retrieve`; this class adds :meth:`search` and :meth:`search_batch`."""

    name = "retriever"
    #: The principal this retriever searches for (``None``: unbound; see :meth:`bind`).
    principal: Principal | None = None

    def __init__(self, collection: Collection) -> None:
        self.collection = collection

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

    def _mask(self, filters: Filter | None) -> np.ndarray | None:
        """The pre-filter every leg applies: metadata filter AND the principal's access mask."""
        return self.collection.filter_mask(filters, principal=self.principal)

    def retrieve(self, queries: Sequence[str], k: int, filters: Filter | None = None, *,
                 trace: Trace | None = None, query_vectors: np.ndarray | None = None) -> list[Candidates]:
        raise NotImplementedError

    @property
    def generation(self) -> tuple[int, ...]:
        """The generations of the indexes this retriever reads: a change means results may differ."""
        raise NotImplementedError

    def _legs(self, queries: Sequence[str], k: int, filters: Filter | None, trace: Trace | None = None,
              query_vectors: np.ndarray | None = None) -> tuple[list[Candidates], list[dict[str, Candidates]]]:
        results = self.retrieve(queries, k, filters, **optional_args(trace, query_vectors))
        return results, [{self.name: c} for c in results]

    def search(self, query: str, k: int = 10, filters: Filter | None = None, *, trace: Trace | None = None) -> list[Hit]:
        """The ``k`` best chunks for ``query``, best first.

        ``trace`` (a :class:`ragkit.observe.Trace`) receives the stage timings and per-leg candidates.

        Raises:
            InputError: empty query or ``k < 1``.
            FilterError: a filter on an unknown field or with an unknown operator.
        """
        if not isinstance(query, str):
            raise InputError(f"The query must be a str. Got {type(query).__name__}.")
        return self.search_batch([query], k, filters, trace=trace)[0]

    def search_batch(self, queries: Sequence[str], k: int = 10, filters: Filter | None = None, *,
                     trace: Trace | None = None, query_vectors: np.ndarray | None = None) -> list[list[Hit]]:
        """:meth:`search` for many queries at once (embeds them in one batch).

        ``query_vectors``: the queries' embeddings by the collection's embedder, when already
        computed (one row per query); dense legs then skip embedding.
        """
        check_k(type(self).__name__, k)
        queries = check_queries(queries)
        if trace is not None:
            trace.begin(self.name, len(queries))
        try:
            with self.collection.reading():  # one version for the whole search
                fused, legs = self._legs(queries, k, filters, trace, query_vectors)
                if self.collection.access_field is not None and self.principal is not None:
                    visible = self.collection.access_mask(self.principal)
                    fused = [_visible_only(c, visible) for c in fused]
                hits = [self.collection.hits(c, leg) for c, leg in zip(fused, legs, strict=True)]
        except BaseException:
            if trace is not None:
                trace.abandon()
            raise
        if trace is not None:
            trace.scope = ""
            trace.lap("hits")
            trace.end()
        return hits

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.collection!r})"


def _visible_only(candidates: Candidates, visible: np.ndarray) -> Candidates:
    """Defence in depth: legs already pre-filter, so this never drops a row in a correct build."""
    keep = visible[candidates.rows]
    if keep.all():
        return candidates
    return Candidates(candidates.rows[keep], candidates.scores[keep])
