"""A retriever wrapper that answers repeated and near-duplicate queries from a :class:`SemanticCache`."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from ragkit.cache.semantic import SemanticCache
from ragkit.core.errors import ConfigError
from ragkit.core.protocols import Embedder
from ragkit.core.results import Hit
from ragkit.core.validation import check_k
from ragkit.observe.trace import Trace
from ragkit.search.base import BaseRetriever, check_queries
from ragkit.store.filters import filters_key

__all__ = ["CachedRetriever"]

_FROM_RETRIEVER: Any = object()


class CachedRetriever:
    """Serves ``search`` from ``cache`` when it can, from ``retriever`` otherwise (and remembers the answer).

    Args:
        retriever: a ragkit retriever; it must expose ``generation`` (every built-in one does).
        cache: shared or private :class:`SemanticCache` (default: a new one, threshold 0.99).
        principal: whose rights the results are computed under (any hashable: a user id, a
            tuple of groups); defaults to ``retriever.principal`` if it has one, else ``None``
            (unrestricted). Entries never cross principals.
        embedder: embeds queries for near-duplicate matching; default the collection's.
            With none (a BM25-only collection), only exact repeats are served.

    A query is embedded once: on a miss, a built-in retriever over the same embedder reuses the
    cache's query vectors (``query_vectors``); a retriever of another kind embeds it again.
    :attr:`last_sources` tells, per query of the last call, ``"exact"``, ``"semantic"`` or ``"miss"``.

    Example:
        >>> cached = CachedRetriever(HybridRetriever(col), SemanticCache(0.99, max_entries=10_000))  # doctest: +SKIP
        >>> cached.search("reset my password", k=5)                                                 # doctest: +SKIP
    """

    def __init__(self, retriever: Any, cache: SemanticCache | None = None, *, principal: Hashable = _FROM_RETRIEVER,
                 embedder: Embedder | None = None) -> None:
        self.retriever = retriever
        self.cache = cache if cache is not None else SemanticCache()
        self.principal = getattr(retriever, "principal", None) if principal is _FROM_RETRIEVER else principal
        collection = getattr(retriever, "collection", None)
        self.embedder = embedder if embedder is not None else getattr(collection, "embedder", None)
        self._shares_embedder = isinstance(retriever, BaseRetriever) and self.embedder is getattr(collection, "embedder", None)
        self.name = getattr(retriever, "name", "retriever")
        self.last_sources: list[str] = []
        try:
            self.generation  # noqa: B018 - fail now, not on the first query, if the retriever has none
        except (AttributeError, NotImplementedError, TypeError) as exc:
            raise ConfigError(
                f"CachedRetriever needs a retriever with a 'generation' (a tuple of its indexes' change counters, "
                f"as every built-in retriever has) to drop stale results; {type(retriever).__name__} has none."
            ) from exc

    @property
    def generation(self) -> tuple[Any, ...]:
        return tuple(self.retriever.generation)

    def search(self, query: str, k: int = 10, filters: Mapping[str, Any] | None = None, *, trace: Trace | None = None) -> list[Hit]:
        return self.search_batch([query], k, filters, trace=trace)[0]

    def search_batch(self, queries: Sequence[str], k: int = 10, filters: Mapping[str, Any] | None = None, *,
                     trace: Trace | None = None) -> list[list[Hit]]:
        """Like the retriever's ``search_batch``; a ``trace`` gets a ``cache.lookup`` stage, then the misses' stages."""
        check_k(type(self).__name__, k)
        queries = check_queries(queries)
        if trace is not None:
            trace.begin(f"cached-{self.name}", len(queries))
        try:
            out, sources = self._answer(queries, k, filters, trace)
        except BaseException:
            if trace is not None:
                trace.abandon()
            raise
        self.last_sources = sources
        if trace is not None:
            trace.end()
        return [r if r is not None else [] for r in out]

    def _answer(self, queries: list[str], k: int, filters: Mapping[str, Any] | None,
                trace: Trace | None) -> tuple[list[list[Hit] | None], list[str]]:
        fkey = filters_key(filters)
        generation = self.generation
        keys: dict[str, Any] = {"k": k, "generation": generation, "principal": self.principal, "filters": fkey}
        out: list[list[Hit] | None] = [None] * len(queries)
        sources = ["miss"] * len(queries)
        semantic = self.embedder is not None and self.cache.threshold is not None
        for i, q in enumerate(queries):  # exact repeats first: no embedding needed
            hit = self.cache.lookup(q, count_miss=not semantic, **keys)
            if hit is not None:
                out[i], sources[i] = list(hit.value[:k]), hit.kind
        todo = [i for i, r in enumerate(out) if r is None]
        vectors: np.ndarray | None = None
        if todo and semantic and self.embedder is not None:
            vectors = self.embedder.embed_queries([queries[i] for i in todo])
            for row, i in enumerate(todo):
                hit = self.cache.lookup(queries[i], vector=vectors[row], **keys)
                if hit is not None:
                    out[i], sources[i] = list(hit.value[:k]), hit.kind
        missing = [(row, i) for row, i in enumerate(todo) if out[i] is None]
        if trace is not None:
            trace.lap("cache.lookup")
        if missing:
            texts = [queries[i] for _, i in missing]
            if vectors is not None and self._shares_embedder:  # the retriever reuses the vectors: one embedding per query
                fresh = self.retriever.search_batch(texts, k, filters, trace=trace,
                                                    query_vectors=vectors[[row for row, _ in missing]])
            else:
                fresh = self.retriever.search_batch(texts, k, filters, **({"trace": trace} if trace is not None else {}))
            unchanged = self.generation == generation  # an update during the search: do not cache its results
            for (row, i), hits in zip(missing, fresh, strict=True):
                out[i] = hits
                if unchanged:
                    self.cache.store(queries[i], tuple(hits), vector=None if vectors is None else vectors[row], **keys)
            if trace is not None:
                trace.lap("cache.store")
        return out, sources
