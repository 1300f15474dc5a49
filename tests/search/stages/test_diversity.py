"""MMR over the stored vectors against a brute-force reference, and the per-document cap."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ragkit
from ragkit import BM25Index, BM25Retriever, DenseRetriever, HybridRetriever, Principal
from ragkit.core.errors import ConfigError, InputError
from ragkit.search import MMR, Rerank
from ragkit.search.stages.diversity import mmr_order
from ragkit.testing import FakeReranker

from .conftest import QUERIES, stage_chunker, stage_docs


def brute_force_mmr(relevance: np.ndarray, vectors: np.ndarray, k: int, lam: float,
                    groups: list[str] | None = None, cap: int | None = None) -> list[int]:
    """Textbook MMR, one candidate at a time in plain Python (ties: the earlier candidate)."""
    similarity = np.stack([vectors @ vectors[j] for j in range(len(vectors))], axis=1)  # column j: similarity to j
    chosen: list[int] = []
    while len(chosen) < min(k, len(relevance)):
        best, best_value = None, -float("inf")
        for i in range(len(relevance)):
            if i in chosen:
                continue
            if cap is not None and groups is not None and sum(groups[j] == groups[i] for j in chosen) >= cap:
                continue
            penalty = max((float(similarity[i, j]) for j in chosen), default=0.0)
            value = lam * float(relevance[i]) - (1 - lam) * penalty
            if value > best_value:
                best, best_value = i, value
        if best is None:
            break
        chosen.append(best)
    return chosen


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(1, 12), st.floats(0.0, 1.0), st.integers(0, 10_000), st.sampled_from([None, 1, 2]))
def test_mmr_order_matches_the_brute_force_reference(m: int, k: int, lam: float, seed: int, cap: int | None) -> None:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(m, 6))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    q = rng.normal(size=6)
    q /= np.linalg.norm(q)
    groups = [f"g{g}" for g in rng.integers(0, 4, size=m)]
    codes = np.unique(np.asarray(groups), return_inverse=True)[1]
    picked, values = mmr_order(v @ q, v, k, lam, groups=codes, per_group=cap)
    assert picked.tolist() == brute_force_mmr(v @ q, v, k, lam, groups, cap)
    assert np.all(np.diff(values) <= 1e-12)


def test_the_stage_uses_the_stored_vectors(collection: ragkit.Collection) -> None:
    dense = DenseRetriever(collection)
    pool = dense.retrieve(QUERIES, 20)
    got = dense.then(MMR(lambda_=0.3, candidates=20)).retrieve(QUERIES, 6)
    vectors = collection.index("vector").row_vectors(np.arange(collection.num_rows))  # type: ignore[attr-defined]
    queries = collection.embed_queries(QUERIES)
    for q, (before, after) in enumerate(zip(pool, got, strict=True)):
        v = vectors[before.rows].astype(np.float64)
        expected = brute_force_mmr(v @ queries[q].astype(np.float64), v, 6, 0.3)
        assert after.rows.tolist() == before.rows[expected].tolist()


def test_lambda_one_keeps_the_relevance_order(collection: ragkit.Collection) -> None:
    dense = DenseRetriever(collection)
    assert [h.chunk_row for h in dense.then(MMR(lambda_=1.0, candidates=30)).search("cat dog", k=8)] == \
           [h.chunk_row for h in dense.search("cat dog", k=8)]


def test_score_relevance_follows_a_reranker(collection: ragkit.Collection) -> None:
    staged = HybridRetriever(collection).then(Rerank(FakeReranker(), candidates=20))
    both = HybridRetriever(collection).then(Rerank(FakeReranker(), candidates=20), MMR(lambda_=1.0, relevance="score"))
    assert [h.chunk_row for h in both.search("fish swim", k=5)] == [h.chunk_row for h in staged.search("fish swim", k=5)]


@pytest.mark.parametrize("cap", [1, 2])
def test_per_document_cap(collection: ragkit.Collection, cap: int) -> None:
    for hits in BM25Retriever(collection).then(MMR(lambda_=1.0, candidates=60, per_document=cap)).search_batch(QUERIES, 10):
        counts = Counter(h.doc_id for h in hits)
        assert hits and max(counts.values()) <= cap


def test_a_diversified_list_repeats_itself_less(collection: ragkit.Collection) -> None:
    dense = DenseRetriever(collection)
    vectors = collection.index("vector").row_vectors(np.arange(collection.num_rows))  # type: ignore[attr-defined]

    def redundancy(rows: list[int]) -> float:
        return max(float(vectors[a] @ vectors[b]) for a, b in itertools.combinations(rows, 2))

    plain = [h.chunk_row for h in dense.search("cat dog", k=6)]
    diverse = [h.chunk_row for h in dense.then(MMR(lambda_=0.2, candidates=40)).search("cat dog", k=6)]
    assert redundancy(diverse) <= redundancy(plain)


def test_access_and_filters_hold(collection: ragkit.Collection) -> None:
    collection.set_access_field("acl")
    staged = HybridRetriever(collection).then(MMR(candidates=40, per_document=1)).bind(Principal("u", groups=["blue"]))
    meta = collection.chunks.column("metadata").to_pylist()
    for hits in staged.search_batch(QUERIES, 6, filters={"group": "even"}):
        assert all("blue" in meta[h.chunk_row]["acl"] and meta[h.chunk_row]["group"] == "even" for h in hits)


def test_sharded_equals_single(collection: ragkit.Collection, sharded: ragkit.ShardedCollection) -> None:
    stage = MMR(lambda_=0.5, candidates=25, per_document=2)
    one = HybridRetriever(collection).then(stage).search_batch(QUERIES, 6)
    many = HybridRetriever(sharded).then(stage).search_batch(QUERIES, 6)
    assert [[(h.doc_id, h.position) for h in x] for x in one] == [[(h.doc_id, h.position) for h in x] for x in many]
    np.testing.assert_allclose([h.score for x in one for h in x], [h.score for x in many for h in x], rtol=1e-5, atol=1e-6)


def test_without_a_vector_index_mmr_says_so() -> None:
    col = ragkit.build_collection(stage_docs(10), chunker=stage_chunker(), indexes=[BM25Index()])
    with pytest.raises(InputError, match="vector"):
        BM25Retriever(col).then(MMR()).search("cat", k=3)


def test_no_candidates_gives_no_hits(collection: ragkit.Collection) -> None:
    assert DenseRetriever(collection).then(MMR()).search("cat", k=3, filters={"group": "none"}) == []


@pytest.mark.parametrize(("options", "match"), [
    ({"lambda_": 1.5}, "lambda_"), ({"lambda_": -0.1}, "lambda_"), ({"candidates": 0}, "candidates"),
    ({"per_document": 0}, "per_document"), ({"relevance": "bm25"}, "relevance"),
])
def test_bad_options_are_refused(options: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        MMR(**options)  # type: ignore[arg-type]
