from __future__ import annotations

import json
import time
from collections.abc import Sequence

import numpy as np
import pytest

import ragkit
from ragkit import BM25Retriever, DenseRetriever, HybridRetriever
from ragkit.observe import Stage, Trace
from ragkit.testing import HashEmbedder

HYBRID_STAGES = ["filter", "bm25.tokenize", "bm25.search", "dense.embed", "dense.search", "complete", "fusion", "hits"]


class SlowEmbedder(HashEmbedder):
    """HashEmbedder that takes a known time per query batch, so the embed stage has a floor."""

    def __init__(self, delay: float) -> None:
        super().__init__(dimension=32)
        self.delay = delay

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        time.sleep(self.delay)
        return super().embed_queries(texts)


@pytest.mark.parametrize(("cls", "names"), [
    (HybridRetriever, HYBRID_STAGES),
    (DenseRetriever, ["filter", "dense.embed", "dense.search", "hits"]),
    (BM25Retriever, ["filter", "bm25.tokenize", "bm25.search", "hits"]),
])
def test_hook_fires_once_per_stage_in_order(animal_collection: ragkit.Collection, cls: type, names: list[str]) -> None:
    seen: list[Stage] = []
    trace = Trace(hook=seen.append)
    cls(animal_collection).search_batch(["cats purr", "fish gills"], k=3, trace=trace)
    assert [s.name for s in seen] == names
    assert seen == trace.stages
    assert trace.n_queries == 2 and trace.retriever == cls.name


def test_stage_times_add_up_to_the_call(animal_collection: ragkit.Collection) -> None:
    animal_collection.embedder = SlowEmbedder(delay=0.05)
    retriever = HybridRetriever(animal_collection)
    trace = Trace()
    start = time.perf_counter()
    retriever.search("cats purr content", k=3, trace=trace)
    wall = time.perf_counter() - start
    assert trace.total is not None
    stage_sum = sum(s.seconds for s in trace.stages)
    assert stage_sum == pytest.approx(trace.total, rel=0.02, abs=2e-4)
    assert trace.total <= wall and trace.total >= 0.9 * wall  # the trace covers (nearly) the whole call
    assert trace.stage_seconds["dense.embed"] >= 0.05  # the slow step lands in its own stage
    assert max(trace.stages, key=lambda s: s.seconds).name == "dense.embed"
    starts = [s.start for s in trace.stages]  # laps are consecutive: each starts where the last ended
    ends = [s.start + s.seconds for s in trace.stages]
    assert starts[0] >= 0 and np.allclose(starts[1:], ends[:-1], atol=1e-9)


def test_legs_record_what_each_leg_returned(animal_collection: ragkit.Collection) -> None:
    retriever = HybridRetriever(animal_collection, candidates=7)
    queries = ["dogs bark", "snakes venomous", "zzzz"]
    trace = Trace()
    retriever.search_batch(queries, k=2, trace=trace)
    expected = BM25Retriever(animal_collection).retrieve(queries, 7)
    leg = trace.legs["bm25"]
    for got, want in zip(leg.candidates, expected, strict=True):
        assert got.rows.tolist() == want.rows.tolist() and np.allclose(got.scores, want.scores)
    assert leg.counts.tolist() == [len(c) for c in expected]
    assert leg.counts[2] == 0 and np.isnan(leg.top_scores[2])  # unknown words: no BM25 candidates
    assert trace.legs["dense"].counts.tolist() == [7, 7, 7]


def test_tracing_does_not_change_results(animal_collection: ragkit.Collection) -> None:
    retriever = HybridRetriever(animal_collection, fusion="score")
    queries = ["horse sleeping", "birds sing"]
    plain = retriever.search_batch(queries, k=4, filters={"legs": {"$gte": 2}})
    traced = retriever.search_batch(queries, k=4, filters={"legs": {"$gte": 2}}, trace=Trace())
    assert plain == traced


def test_reused_trace_describes_the_last_call_and_serialises(animal_collection: ragkit.Collection) -> None:
    trace = Trace()
    HybridRetriever(animal_collection).search("cats", k=2, trace=trace)
    DenseRetriever(animal_collection).search("dogs", k=2, trace=trace)
    assert [s.name for s in trace.stages] == ["filter", "dense.embed", "dense.search", "hits"]
    assert list(trace.legs) == ["dense"]
    data = json.loads(json.dumps(trace.to_dict()))
    assert data["retriever"] == "dense" and len(data["stages"]) == 4 and data["legs"]["dense"]["counts"] == [2]
    table = trace.table()
    assert "dense.embed" in table and "total" in table


def test_search_errors_still_raise_and_the_trace_can_be_reused(animal_collection: ragkit.Collection) -> None:
    trace = Trace()
    with pytest.raises(ragkit.InputError):
        HybridRetriever(animal_collection).search("  ", trace=trace)
    with pytest.raises(ragkit.FilterError):
        HybridRetriever(animal_collection).search("cats", filters={"nope": 1}, trace=trace)
    assert trace.total is None
    HybridRetriever(animal_collection).search("cats", k=2, trace=trace)
    assert [s.name for s in trace.stages] == HYBRID_STAGES and trace.total is not None


def test_legs_written_without_the_new_keywords_still_work(animal_collection: ragkit.Collection) -> None:
    class PlainLeg(BM25Retriever):
        name = "plain"

        def retrieve(self, queries, k, filters=None):  # type: ignore[no-untyped-def,override]
            return super().retrieve(queries, k, filters)

    hybrid = HybridRetriever(animal_collection, retrievers=[PlainLeg(animal_collection), DenseRetriever(animal_collection)])
    assert hybrid.search("cats purr", k=2)[0].doc_id == "cats"
    assert PlainLeg(animal_collection).search("fish", k=1)[0].doc_id == "fish"
