"""One search's shared inputs: queries, filter + access mask and query vectors, each computed once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ragkit.core.documents import check_unicode
from ragkit.core.errors import InputError
from ragkit.core.validation import as_list

if TYPE_CHECKING:
    from ragkit.core.results import Candidates
    from ragkit.core.tracing import Tracer
    from ragkit.store.access import Principal
    from ragkit.store.filters import Filter
    from ragkit.store.storage import SearchStorage

__all__ = ["SearchContext", "check_queries", "check_query_vectors"]

_UNSET: object = object()


def check_queries(queries: Sequence[str]) -> list[str]:
    """Validate a batch of query strings.

    Raises:
        InputError: a bare string instead of a list, a non-string, an empty query, or one
            that is not valid Unicode (a lone surrogate); numbered from 1, as a person counts.
    """
    if isinstance(queries, str):
        raise InputError("Expected a list of queries, got a single str; use search(query) or wrap it as [query].")
    out = as_list("search_batch", queries, "a list of query strings")
    for i, q in enumerate(out):
        if not isinstance(q, str):
            raise InputError(f"Query #{i + 1} is a {type(q).__name__}, not a str.")
        if not q.strip():
            raise InputError(f"Query #{i + 1} of {len(out)} is empty; give some text to search for.")
        check_unicode(f"Query #{i + 1}", q)
    return out


def check_query_vectors(query_vectors: Any, n_queries: int) -> np.ndarray:
    """``query_vectors`` passed with ``n_queries`` queries, as an array of one row per query (values are the vector
    index's to check: its dimension, finite unit rows).

    Raises:
        InputError: not an array of that shape (ragged rows, a scalar, another number of rows).
    """
    try:
        arr = np.asarray(query_vectors)
    except (TypeError, ValueError):  # ragged nested lists
        raise InputError(f"query_vectors must be a 2-d float array, one row per query. Got {type(query_vectors).__name__}.") from None
    if arr.ndim != 2 or arr.shape[0] != n_queries:
        raise InputError(f"query_vectors has shape {arr.shape} for {n_queries} queries; give one row per query.")
    return arr


class SearchContext:
    """What every leg of one search shares, so nothing is computed twice.

    The planner creates one per ``search`` / ``retrieve`` call, inside the storage's read
    snapshot. :attr:`mask` compiles the metadata filter AND the principal's access mask
    on first use; :meth:`vectors` embeds the queries on first use (or takes the vectors
    the caller passed). :attr:`legs` collects what each leg returned, for the hits' leg
    scores and for stages after fusion.
    """

    def __init__(self, storage: SearchStorage, queries: Sequence[str], filters: Filter | None = None, *,
                 principal: Principal | None = None, trace: Tracer | None = None,
                 query_vectors: np.ndarray | None = None) -> None:
        self.storage = storage
        self.queries = check_queries(queries)
        self.filters = filters
        self.principal = principal
        self.trace = trace
        if query_vectors is not None:
            query_vectors = check_query_vectors(query_vectors, len(self.queries))
        self.query_vectors = query_vectors  # as given by the caller (None: embed on demand)
        self._vectors: np.ndarray | None = query_vectors
        self._mask: object = _UNSET
        self.legs: dict[str, list[Candidates]] = {}
        self.stage_data: dict[str, Any] = {}  # what a stage keeps between its apply() and finish() of this search

    @property
    def mask(self) -> np.ndarray | None:
        """Rows every leg may return (filter AND access; ``None``: every row), compiled once."""
        if self._mask is _UNSET:
            self._mask = self.storage.filter_mask(self.filters, principal=self.principal)
        return self._mask  # type: ignore[return-value]

    @property
    def mask_compiled(self) -> bool:
        return self._mask is not _UNSET

    def vectors(self) -> np.ndarray:
        """The queries' vectors by the storage's embedder, embedded once for every dense leg."""
        if self._vectors is None:
            self._vectors = self.storage.embed_queries(self.queries)
        return self._vectors

    @property
    def embedded(self) -> bool:
        return self._vectors is not None
