"""A retriever wrapper that answers repeated and near-duplicate queries from a :class:`SemanticCache`."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from ragkit.cache.semantic import SemanticCache
from ragkit.core.errors import ConfigError, InputError, RagkitError
from ragkit.core.protocols import Embedder
from ragkit.core.results import Candidates, Hit
from ragkit.core.tracing import Tracer
from ragkit.core.validation import check_k, check_role
from ragkit.index import check_vectors
from ragkit.search.context import check_queries, check_query_vectors
from ragkit.search.wrapper import RetrieverWrapper
from ragkit.store.access import Principal
from ragkit.store.filters import filters_key

__all__ = ["CachedRetriever"]


class CachedRetriever(RetrieverWrapper):
    """Serves ``search`` from ``cache`` when it can, from ``retriever`` otherwise (and remembers the answer).

    Args:
        retriever: any ragkit retriever or wrapper; it must expose ``generation`` (every built-in one does).
        cache: shared or private :class:`SemanticCache` (default: a new one, threshold 0.99).
        principal: an extra partition of the cache (any hashable: a tenant, an API key id).
            Entries are always keyed on the principal the wrapped retriever is bound to
            (its id and groups), so results never cross bindings whatever this says.
        embedder: embeds queries for near-duplicate matching; default the collection's.
            With none (a BM25-only collection), only exact repeats are served.

    Raises:
        ConfigError: ``cache`` is not a :class:`SemanticCache`, ``embedder`` has no ``embed_queries``
            (a class instead of an instance, say), or the retriever has no ``generation``.

    ``query_vectors`` are checked before the cache is consulted, as a dense retriever checks them,
    hit or miss: one row per query and, when the collection has an embedder, finite unit-length
    float rows of its dimension (:class:`~ragkit.InputError`, :class:`~ragkit.DimensionMismatchError`).
    The embedder's own query vectors are checked alike before a lookup uses them.

    It has the shape of every retriever: ``search``, ``search_batch``, ``retrieve`` (cached
    too), ``bind`` (a wrapper of the bound retriever, sharing the cache) and
    ``generation``, and it stacks with the other wrappers in any order.

    A query is embedded once: on a miss, a built-in retriever over the same embedder reuses the
    cache's query vectors (``query_vectors``); a retriever of another kind embeds it again.
    :attr:`last_sources` tells, per query of the last call, ``"exact"``, ``"semantic"`` or ``"miss"``.

    Example:
        >>> cached = CachedRetriever(HybridRetriever(col), SemanticCache(0.99, max_entries=10_000))  # doctest: +SKIP
        >>> cached.bind(Principal("alice", groups=["staff"])).search("reset my password", k=5)      # doctest: +SKIP
    """

    def __init__(self, retriever: Any, cache: SemanticCache | None = None, *, principal: Hashable = None,
                 embedder: Embedder | None = None) -> None:
        self.retriever = retriever
        if embedder is not None:
            check_role("CachedRetriever", "embedder", embedder, "embedder", ("embed_queries",))
        if cache is not None and not isinstance(cache, SemanticCache):
            raise ConfigError(f"CachedRetriever: 'cache' must be a SemanticCache or None. Got {type(cache).__name__}.")
        self.cache = cache if cache is not None else SemanticCache()
        self.partition = principal
        collection = getattr(retriever, "collection", None)
        self._collection_embedder = getattr(collection, "embedder", None)
        self.embedder = embedder if embedder is not None else self._collection_embedder
        self._shares_embedder = self.embedder is self._collection_embedder
        self.name = getattr(retriever, "name", "retriever")
        self.last_sources: list[str] = []
        try:
            self.generation  # noqa: B018 - fail now, not on the first query, if the retriever has none
        except (AttributeError, NotImplementedError, TypeError) as exc:
            raise ConfigError(
                f"CachedRetriever needs a retriever with a 'generation' (a tuple of its indexes' change counters, "
                f"as every built-in retriever has) to drop stale results; {type(retriever).__name__} has none."
            ) from exc

    # -- the retriever shape (the rest is RetrieverWrapper's) ---------------------------------
    def _fresh(self) -> None:
        self.last_sources = []

    def search_batch(self, queries: Sequence[str], k: int = 10, filters: Mapping[str, Any] | None = None, *,
                     trace: Tracer | None = None, query_vectors: np.ndarray | None = None) -> list[list[Hit]]:
        """Like the retriever's ``search_batch``; a ``trace`` gets a ``cache.lookup`` stage, then the misses' stages."""
        return self._cached("hits", self.retriever.search_batch, queries, k, filters, trace, query_vectors)

    def retrieve(self, queries: Sequence[str], k: int, filters: Mapping[str, Any] | None = None, *,
                 trace: Tracer | None = None, query_vectors: np.ndarray | None = None) -> list[Candidates]:
        """Like the retriever's ``retrieve`` (ranked rows), from the cache when it can."""
        return self._cached("rows", self.retriever.retrieve, queries, k, filters, trace, query_vectors)


    # -- the cache ---------------------------------------------------------------------------
    def _cached(self, level: str, compute: Callable[..., list[Any]], queries: Sequence[str], k: int,
                filters: Mapping[str, Any] | None, trace: Tracer | None, query_vectors: np.ndarray | None) -> list[Any]:
        k = check_k(type(self).__name__, k)
        queries = check_queries(queries)
        if query_vectors is not None:  # before any lookup: the cache must never match (or store) a vector the retriever refuses
            query_vectors = self._check_query_vectors(query_vectors, len(queries))
        if trace is not None:
            trace.begin(f"cached-{self.name}", len(queries))
        try:
            out, sources = self._answer(level, compute, queries, k, filters, trace, query_vectors)
        except BaseException:
            if trace is not None:
                trace.abandon()
            raise
        self.last_sources = sources
        if trace is not None:
            trace.end()
        empty: Any = [] if level == "hits" else Candidates.empty()
        return [r if r is not None else empty for r in out]

    def _key(self, level: str, k: int, filters: Mapping[str, Any] | None, generation: tuple[Any, ...]) -> dict[str, Any]:
        bound = self.principal
        identity = (bound.id, tuple(sorted(bound.groups))) if isinstance(bound, Principal) else bound
        stages = tuple(repr(s) for s in getattr(self.retriever, "stages", ()))  # a reranked search is another search
        return {"k": k, "generation": (level, generation, stages), "principal": (identity, self.partition),
                "filters": filters_key(filters)}

    def _answer(self, level: str, compute: Callable[..., list[Any]], queries: list[str], k: int,
                filters: Mapping[str, Any] | None, trace: Tracer | None,
                query_vectors: np.ndarray | None) -> tuple[list[Any], list[str]]:
        generation = self.generation
        keys = self._key(level, k, filters, generation)
        out: list[Any] = [None] * len(queries)
        sources = ["miss"] * len(queries)
        semantic = self.embedder is not None and self.cache.threshold is not None
        for i, q in enumerate(queries):  # exact repeats first: no embedding needed
            hit = self.cache.lookup(q, count_miss=not semantic, **keys)
            if hit is not None:
                out[i], sources[i] = _cut(hit.value, k), hit.kind
        todo = [i for i, r in enumerate(out) if r is None]
        vectors: np.ndarray | None = None
        if todo and semantic and self.embedder is not None:
            vectors = (query_vectors[todo] if query_vectors is not None and self._shares_embedder
                       else self._embed([queries[i] for i in todo]))
            for row, i in enumerate(todo):
                hit = self.cache.lookup(queries[i], vector=vectors[row], **keys)
                if hit is not None:
                    out[i], sources[i] = _cut(hit.value, k), hit.kind
        missing = [(row, i) for row, i in enumerate(todo) if out[i] is None]
        if trace is not None:
            trace.lap("cache.lookup")
        if missing:
            texts = [queries[i] for _, i in missing]
            extra: dict[str, Any] = {"trace": trace} if trace is not None else {}
            if vectors is not None and self._shares_embedder:  # the retriever reuses the vectors: one embedding per query
                extra["query_vectors"] = vectors[[row for row, _ in missing]]
            elif query_vectors is not None:
                extra["query_vectors"] = query_vectors[[i for _, i in missing]]
            fresh = compute(texts, k, filters, **extra)
            unchanged = self.generation == generation  # an update during the search: do not cache its results
            for (row, i), found in zip(missing, fresh, strict=True):
                out[i] = found
                if unchanged:
                    value = tuple(found) if level == "hits" else found
                    self.cache.store(queries[i], value, vector=None if vectors is None else vectors[row], **keys)
            if trace is not None:
                trace.lap("cache.store")
        return out, sources


    def _check_query_vectors(self, query_vectors: Any, n: int) -> np.ndarray:
        """The caller's ``query_vectors``, checked as the retriever checks them (one row per query; unit float rows)."""
        arr = check_query_vectors(query_vectors, n)
        if self._collection_embedder is None:  # vectors of no embedder: the cache never uses them, nor a BM25 leg
            return arr
        return check_vectors(arr, owner=f"{type(self).__name__} (query_vectors=)", dimension=self._vector_dimension())

    def _vector_dimension(self) -> int | None:
        """The collection's vector index dimension (not the embedder's, whose ``dimension`` may load its model)."""
        collection = getattr(self.retriever, "collection", None)
        try:
            return int(collection.index(collection.index_of_kind("vector")).dimension)  # type: ignore[union-attr]
        except (RagkitError, AttributeError):  # no vector index (BM25 only), or a retriever without a collection
            return None

    def _embed(self, texts: list[str]) -> np.ndarray:
        assert self.embedder is not None
        owner = f"{type(self.embedder).__name__}.embed_queries"
        vectors = check_vectors(self.embedder.embed_queries(texts), owner=owner)  # the cache checks its dimension
        if vectors.shape[0] != len(texts):
            raise InputError(f"{owner} returned {vectors.shape[0]} vectors for {len(texts)} queries.")
        return vectors


def _cut(value: Any, k: int) -> Any:
    if isinstance(value, Candidates):
        return value if len(value) <= k else Candidates(value.rows[:k], value.scores[:k])
    return list(value[:k])


