"""The rerank stage: order, depth, budget, access and filters, every storage and wrapper."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import ragkit
from ragkit import BM25Retriever, DenseRetriever, HybridRetriever, Principal
from ragkit.cache import CachedRetriever, SemanticCache
from ragkit.core.errors import ConfigError, InputError
from ragkit.core.results import Candidates
from ragkit.observe import Metrics, ObservedRetriever, Trace
from ragkit.search import Rerank
from ragkit.search.stages.rerank import rerank_lists
from ragkit.testing import FakeReranker

from .conftest import QUERIES


def _texts(collection: ragkit.Collection) -> list[str]:
    return collection.chunks.column("text").to_pylist()


def test_reranked_order_is_the_order_of_the_rerankers_scores(collection: ragkit.Collection) -> None:
    hybrid = HybridRetriever(collection)
    fused = hybrid.retrieve(QUERIES, 12)
    reranker = FakeReranker()
    got = hybrid.then(Rerank(reranker, candidates=12)).search_batch(QUERIES, 5)
    texts = _texts(collection)
    for query, before, hits in zip(QUERIES, fused, got, strict=True):
        scores = np.array([FakeReranker.pair_score(query, texts[r]) for r in before.rows.tolist()])
        expected = before.rows[np.argsort(-scores, kind="stable")][:5]
        assert [h.chunk_row for h in hits] == expected.tolist()
        np.testing.assert_allclose([h.score for h in hits], np.sort(scores)[::-1][:5])
        assert [h.legs["rerank"].rank for h in hits] == [1, 2, 3, 4, 5]
        fused_rank = {int(r): i + 1 for i, r in enumerate(before.rows.tolist())}
        assert [h.legs["fusion"].rank for h in hits] == [fused_rank[h.chunk_row] for h in hits]
        assert all("bm25" in h.legs or "dense" in h.legs for h in hits)


def test_the_reranker_sees_only_the_top_candidates(collection: ragkit.Collection) -> None:
    reranker = FakeReranker()
    retriever = BM25Retriever(collection).then(Rerank(reranker, candidates=7))
    top = BM25Retriever(collection).retrieve(QUERIES, 7)
    retriever.search_batch(QUERIES, 3)
    texts = _texts(collection)
    assert len(reranker.seen) == sum(len(c) for c in top)
    assert sorted(reranker.seen) == sorted((q, texts[r]) for q, c in zip(QUERIES, top, strict=True) for r in c.rows.tolist())


def test_k_above_the_depth_is_refused(collection: ragkit.Collection) -> None:
    retriever = HybridRetriever(collection).then(Rerank(FakeReranker(), candidates=5))
    with pytest.raises(InputError, match="candidates"):
        retriever.search("cat", k=6)
    assert len(retriever.search("cat", k=5)) == 5


def test_no_candidates_gives_no_hits_and_no_reranker_call(collection: ragkit.Collection) -> None:
    reranker = FakeReranker()
    retriever = HybridRetriever(collection).then(Rerank(reranker))
    assert retriever.search_batch(["cat", "dog"], 5, filters={"group": "none-such"}) == [[], []]
    assert reranker.calls == 0
    assert rerank_lists(reranker, ["q"], [Candidates.empty()], lambda rows: [], depth=5, keep=3).candidates[0].rows.size == 0


def test_a_time_budget_reranks_fewer_and_says_so(collection: ragkit.Collection) -> None:
    slow = FakeReranker(seconds_per_pair=0.01)
    retriever = HybridRetriever(collection).then(Rerank(slow, candidates=30, budget_ms=45, batch_size=2))
    trace = Trace()
    hits = retriever.search("fish swim river", k=10, trace=trace)
    assert len(hits) == 10
    assert 2 <= len(slow.seen) < 30
    assert "rerank" in trace.notes and "budget" in trace.notes["rerank"]
    assert "note rerank" in trace.table() and trace.to_dict()["notes"]["rerank"]
    scores = [h.score for h in hits]
    assert all(a >= b for a, b in itertools.pairwise(scores))
    reranked = [h for h in hits if "rerank" in h.legs]
    assert reranked and hits[:len(reranked)] == reranked  # reranked rows first, the rest in fused order
    tail = [h.legs["fusion"].rank for h in hits[len(reranked):]]
    assert tail == sorted(tail)


def test_budget_cuts_tier_by_tier_so_every_query_gets_its_best_rows_reranked() -> None:
    clock = iter(np.arange(0, 100, 1.0))  # every clock() call: one more second
    cands = [Candidates(np.arange(10, dtype=np.int64) + 100 * q, np.linspace(1, 0, 10)) for q in range(3)]
    done = rerank_lists(FakeReranker(), ["a", "b", "c"], cands, lambda rows: [str(r) for r in rows.tolist()],
                        depth=10, keep=10, budget_seconds=8.0, batch_size=3, clock=lambda: float(next(clock)))
    assert 0 < done.scored < done.total
    assert [len(leg) for leg in done.legs] == [done.scored // 3] * 3
    for before, after in zip(cands, done.candidates, strict=True):
        assert sorted(after.rows.tolist()) == before.rows.tolist()
        assert np.all(np.diff(after.scores) <= 0)


def test_without_a_budget_nothing_degrades(collection: ragkit.Collection) -> None:
    trace = Trace()
    HybridRetriever(collection).then(Rerank(FakeReranker(), candidates=20)).search("cat", k=5, trace=trace)
    assert "rerank" not in trace.notes
    assert "rerank" in trace.stage_seconds


def test_the_reranker_never_sees_a_chunk_the_principal_may_not_see(collection: ragkit.Collection) -> None:
    collection.set_access_field("acl")
    reranker = FakeReranker()
    red = Principal("u", groups=["red"])
    hits = HybridRetriever(collection).then(Rerank(reranker, candidates=30)).bind(red).search_batch(QUERIES, 10)
    acl = collection.chunks.column("metadata").to_pylist()
    texts = _texts(collection)
    visible_texts = {texts[i] for i, m in enumerate(acl) if "red" in m["acl"]}
    assert reranker.seen and all(t in visible_texts for _, t in reranker.seen)
    assert all("red" in acl[h.chunk_row]["acl"] for per in hits for h in per)


def test_filters_apply_before_reranking(collection: ragkit.Collection) -> None:
    reranker = FakeReranker()
    hits = HybridRetriever(collection).then(Rerank(reranker, candidates=30)).search_batch(QUERIES, 8, filters={"group": "odd"})
    meta = collection.chunks.column("metadata").to_pylist()
    texts = _texts(collection)
    odd = {texts[i] for i, m in enumerate(meta) if m["group"] == "odd"}
    assert all(t in odd for _, t in reranker.seen)
    assert all(meta[h.chunk_row]["group"] == "odd" for per in hits for h in per)


def test_prepend_puts_metadata_before_the_passage(collection: ragkit.Collection) -> None:
    reranker = FakeReranker()
    BM25Retriever(collection).then(Rerank(reranker, candidates=3, prepend=("group",))).search("cat", k=2)
    assert reranker.seen and all(t.split("\n")[0] in ("even", "odd") for _, t in reranker.seen)


def test_sharded_equals_single(collection: ragkit.Collection, sharded: ragkit.ShardedCollection) -> None:
    stage = Rerank(FakeReranker(), candidates=15)
    for make in (BM25Retriever, DenseRetriever, HybridRetriever):
        one = make(collection).then(stage).search_batch(QUERIES, 6)
        many = make(sharded).then(stage).search_batch(QUERIES, 6)
        assert [[(h.doc_id, h.position, round(h.score, 6)) for h in x] for x in one] == \
               [[(h.doc_id, h.position, round(h.score, 6)) for h in x] for x in many]


def test_works_through_cache_and_observation(collection: ragkit.Collection) -> None:
    staged = HybridRetriever(collection).then(Rerank(FakeReranker(), candidates=12))
    expected = [[(h.chunk_row, h.score) for h in x] for x in staged.search_batch(QUERIES, 4)]
    cache = SemanticCache(threshold=None)
    metrics = Metrics()
    for wrapped in (CachedRetriever(staged, cache), ObservedRetriever(staged, metrics=metrics),
                    CachedRetriever(HybridRetriever(collection), cache).then(Rerank(FakeReranker(), candidates=12)),
                    ObservedRetriever(CachedRetriever(HybridRetriever(collection))).then(Rerank(FakeReranker(), candidates=12))):
        for _ in range(2):
            got = wrapped.search_batch(QUERIES, 4)
            assert [[(h.chunk_row, h.score) for h in x] for x in got] == expected
    observed = ObservedRetriever(staged)
    observed.search("cat", k=3)
    assert observed.last_trace is not None and "rerank" in observed.last_trace.stage_seconds


def test_a_shared_cache_keeps_reranked_and_plain_results_apart(collection: ragkit.Collection) -> None:
    cache = SemanticCache(threshold=None)
    plain = CachedRetriever(HybridRetriever(collection), cache)
    reranked = plain.then(Rerank(FakeReranker(), candidates=12))
    first = [h.chunk_row for h in plain.search("fish swim river", k=5)]
    second = [h.chunk_row for h in reranked.search("fish swim river", k=5)]
    assert reranked.last_sources == ["miss"]
    assert second == [h.chunk_row for h in HybridRetriever(collection).then(Rerank(FakeReranker(), candidates=12))
                      .search("fish swim river", k=5)]
    assert first == [h.chunk_row for h in HybridRetriever(collection).search("fish swim river", k=5)]


@pytest.mark.parametrize(("options", "match"), [
    ({"candidates": 0}, "candidates"), ({"budget_ms": -1.0}, "budget_ms"), ({"budget_ms": float("nan")}, "budget_ms"),
    ({"prepend": "title"}, "prepend"), ({"batch_size": 0}, "batch_size"),
])
def test_bad_options_are_refused(options: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Rerank(FakeReranker(), **options)  # type: ignore[arg-type]


def test_an_object_that_is_not_a_reranker_is_refused() -> None:
    with pytest.raises(ConfigError, match="Reranker"):
        Rerank(object())  # type: ignore[arg-type]


def test_a_reranker_returning_the_wrong_number_of_scores_is_reported(collection: ragkit.Collection) -> None:
    class Short(FakeReranker):
        def score(self, queries, texts):  # type: ignore[no-untyped-def]
            return super().score(queries, texts)[:-1]

    with pytest.raises(ConfigError, match="scores for"):
        HybridRetriever(collection).then(Rerank(Short())).search("cat", k=3)


def test_then_refuses_what_is_not_a_stage(collection: ragkit.Collection) -> None:
    with pytest.raises(ConfigError, match="stages"):
        HybridRetriever(collection).then(FakeReranker())  # type: ignore[arg-type]


def test_keep_rest_returns_the_fused_rows_below_the_reranked_ones(collection: ragkit.Collection) -> None:
    hybrid = HybridRetriever(collection)
    deep = hybrid.then(Rerank(FakeReranker(), candidates=5, keep_rest=True)).retrieve(QUERIES, 20)
    fused = hybrid.retrieve(QUERIES, 20)
    for before, after in zip(fused, deep, strict=True):
        assert len(after) == len(before) and sorted(after.rows[:5].tolist()) == sorted(before.rows[:5].tolist())
        assert after.rows[5:].tolist() == before.rows[5:].tolist()
        assert np.all(np.diff(after.scores) <= 0)
