"""Every retriever and every wrapper, alone and stacked in any order, passes the same retriever contract."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import ragkit
from ragkit import BM25Retriever, DenseRetriever, HybridRetriever, Principal
from ragkit.cache import CachedRetriever, SemanticCache
from ragkit.core.results import Candidates
from ragkit.observe import Metrics, ObservedRetriever, Trace
from ragkit.search.context import SearchContext
from ragkit.store import filters as filters_module
from ragkit.testing import ContractViolation, check_retriever

QUERIES = ["cats purr", "dogs bark at strangers", "fish swim in rivers"]

BASES: dict[str, Callable[[Any], Any]] = {
    "bm25": BM25Retriever,
    "dense": DenseRetriever,
    "hybrid": HybridRetriever,
    "hybrid-score": lambda c: HybridRetriever(c, fusion="score", candidates=5),
    "hybrid-of-hybrid": lambda c: HybridRetriever(c, retrievers=[BM25Retriever(c), HybridRetriever(c)]),
    "hybrid-with-cached-leg": lambda c: HybridRetriever(c, retrievers=[CachedRetriever(BM25Retriever(c)), DenseRetriever(c)]),
}
WRAPPERS: dict[str, Callable[[Any], Any]] = {
    "plain": lambda r: r,
    "cached": lambda r: CachedRetriever(r, SemanticCache(threshold=0.95)),
    "observed": lambda r: ObservedRetriever(r, metrics=Metrics()),
    "cached(observed)": lambda r: CachedRetriever(ObservedRetriever(r)),
    "observed(cached)": lambda r: ObservedRetriever(CachedRetriever(r)),
    "observed(cached(observed))": lambda r: ObservedRetriever(CachedRetriever(ObservedRetriever(r))),
}


@pytest.mark.parametrize("wrap", list(WRAPPERS))
@pytest.mark.parametrize("base", list(BASES))
def test_every_stacking_passes_the_contract(animal_collection: ragkit.Collection, base: str, wrap: str) -> None:
    retriever = WRAPPERS[wrap](BASES[base](animal_collection))
    check_retriever(retriever, QUERIES, k=3, principal=Principal("u", groups=["g"]))


@pytest.mark.parametrize("wrap", list(WRAPPERS))
def test_wrappers_return_what_the_wrapped_retriever_returns(animal_collection: ragkit.Collection, wrap: str) -> None:
    plain = HybridRetriever(animal_collection)
    wrapped = WRAPPERS[wrap](plain)
    for _ in range(2):  # the second round is served from caches
        got = wrapped.search_batch(QUERIES, 4, {"kind": "mammal"})
        assert [[(h.chunk_row, h.score) for h in x] for x in got] == \
               [[(h.chunk_row, h.score) for h in x] for x in plain.search_batch(QUERIES, 4, {"kind": "mammal"})]


def test_bind_through_wrappers_binds_the_retriever_underneath(animal_collection: ragkit.Collection) -> None:
    animal_collection.set_access_field("tags")
    stacked = ObservedRetriever(CachedRetriever(HybridRetriever(animal_collection)))
    with pytest.raises(ragkit.AccessError):
        stacked.search("cats")
    wild = stacked.bind(Principal("u", groups=["wild"]))
    assert wild.principal == Principal("u", groups=["wild"]) and stacked.principal is None
    hits = wild.search("cats dogs birds fish", k=10)
    tags = animal_collection.chunks.column("metadata")
    assert hits and all("wild" in tags[h.chunk_row].as_py()["tags"] for h in hits)
    pets = stacked.bind(Principal("v", groups=["pet"]))  # shares the cache, never its entries
    assert all("pet" in tags[h.chunk_row].as_py()["tags"] for h in pets.search("cats dogs birds fish", k=10))


def test_the_contract_check_catches_a_broken_retriever(animal_collection: ragkit.Collection) -> None:
    class Unsorted(BM25Retriever):
        name = "unsorted"

        def candidates(self, context: SearchContext, k: int) -> list[Candidates]:
            found = super().candidates(context, k)
            return [Candidates(c.rows[::-1].copy(), c.scores[::-1].copy()) for c in found]

    with pytest.raises(ContractViolation, match="best first"):
        check_retriever(Unsorted(animal_collection, scope="chunk"), QUERIES)

    class NoBind:
        name = "nobind"

        def search_batch(self, queries: list[str], k: int = 10) -> list[list[ragkit.Hit]]:
            return [[] for _ in queries]

    with pytest.raises(ContractViolation, match="shape"):
        check_retriever(NoBind(), QUERIES)


def test_the_filter_mask_is_compiled_once_per_hybrid_search(animal_collection: ragkit.Collection,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = filters_module.filter_mask

    def counting(table: Any, filters: Any) -> Any:
        calls.append(filters)
        return original(table, filters)

    monkeypatch.setattr("ragkit.store.collection.filter_mask", counting)
    legs = [BM25Retriever(animal_collection), DenseRetriever(animal_collection),
            HybridRetriever(animal_collection)]  # three legs, one nested
    hybrid = HybridRetriever(animal_collection, retrievers=legs)
    hybrid.search_batch(QUERIES, 3, {"kind": "mammal"})
    assert calls == [{"kind": "mammal"}]


def test_queries_are_embedded_once_per_hybrid_search(animal_collection: ragkit.Collection) -> None:
    calls = []
    embedder = animal_collection.embedder
    original = embedder.embed_queries  # type: ignore[union-attr]

    def counting(queries: Any) -> np.ndarray:
        calls.append(list(queries))
        return original(queries)

    embedder.embed_queries = counting  # type: ignore[union-attr,method-assign]
    two_dense = HybridRetriever(animal_collection, retrievers=[
        BM25Retriever(animal_collection), DenseRetriever(animal_collection),
        type("DenseAgain", (DenseRetriever,), {"name": "dense2"})(animal_collection)])
    hits = two_dense.search_batch(QUERIES, 3)
    assert calls == [QUERIES] and all(hits)
    assert set(hits[0][0].legs) <= {"bm25", "dense", "dense2"}


def test_a_trace_sees_the_filter_once_then_each_leg(animal_collection: ragkit.Collection) -> None:
    trace = Trace()
    HybridRetriever(animal_collection).search("cats", k=2, filters={"kind": "mammal"}, trace=trace)
    assert [s.name for s in trace.stages] == ["filter", "bm25.tokenize", "bm25.search", "dense.embed", "dense.search",
                                             "complete", "fusion", "hits"]
    assert set(trace.legs) == {"bm25", "dense"}


def test_stages_after_fusion_plug_into_every_retriever(animal_collection: ragkit.Collection) -> None:
    class Reverse:
        """A toy stage: takes 5 fused candidates and returns them worst first, scored by rank."""

        name = "reverse"

        def depth(self, k: int) -> int:
            return max(k, 5)

        def apply(self, context: SearchContext, candidates: list[Candidates], k: int) -> list[Candidates]:
            assert context.mask is not None and len(context.queries) == len(candidates)
            return [Candidates(c.rows[::-1][:k].copy(), np.arange(min(k, len(c)), 0, -1, dtype=np.float64))
                    for c in candidates]

    for base in (BM25Retriever(animal_collection), HybridRetriever(animal_collection)):
        staged = base.then(Reverse())
        trace = Trace()
        got = staged.search("cats dogs", k=2, filters={"kind": "mammal"}, trace=trace)
        wide = base.search("cats dogs", k=5, filters={"kind": "mammal"})
        assert [h.chunk_row for h in got] == [h.chunk_row for h in wide[::-1][:2]]
        assert "reverse" in [s.name for s in trace.stages] and base.stages == ()
        cached = CachedRetriever(staged)
        assert [h.chunk_row for h in cached.search("cats dogs", k=2, filters={"kind": "mammal"})] == [h.chunk_row for h in got]
    with pytest.raises(ragkit.ConfigError, match="then"):
        BM25Retriever(animal_collection).then(object())  # type: ignore[arg-type]
