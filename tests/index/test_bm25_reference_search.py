"""BM25Index.search_rows (the path a retriever takes) against reference implementations.

Okapi runs the dense block path and must return the top-k of rank-bm25's ``BM25Okapi``
scores over the rows holding at least one query term (zero and negative scores included:
rank-bm25 floors the IDF of terms in more than half the documents at ``epsilon * mean``).
Lucene runs the sparse product and must return the top-k of bm25s' ``method="lucene"``
scores. Both references get exactly the token lists of the index's own tokenizer.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi

from ragkit import BM25Index, BM25Tokenizer
from ragkit.core.results import Candidates

TOKENIZER = BM25Tokenizer(stemmer=None, stopwords=None)
K = 10


def random_corpus(n_docs: int, vocabulary: int, seed: int) -> tuple[list[str], list[str]]:
    """Zipf-distributed words (a few very common, so Okapi floors some IDFs), and queries."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(vocabulary)]

    def text(low: int, high: int) -> str:
        ids = (rng.zipf(1.4, size=int(rng.integers(low, high))) - 1) % vocabulary
        return " ".join(words[i] for i in ids)

    return [text(1, 25) for _ in range(n_docs)], [text(1, 6) for _ in range(40)] + ["w0", "w0 w1", "nope", "w0 nope"]


def reference_top_k(scores: np.ndarray, candidates: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The top-k of ``scores`` over the ``candidates`` rows (ties: lower row), as ragkit orders them."""
    rows = np.flatnonzero(candidates)
    order = np.lexsort((rows, -scores[rows]))[:k]
    return rows[order], scores[rows[order]]


def assert_top_k(got: Candidates, scores: np.ndarray, candidates: np.ndarray, k: int, tol: float) -> None:
    """``got`` is the top-k of the reference ``scores`` over ``candidates``: same rows (up to the
    order of rows whose reference scores tie within ``tol``) and the same scores."""
    rows, expected = reference_top_k(scores, candidates, k)
    assert len(got) == len(rows) == min(k, int(candidates.sum()))
    assert np.unique(got.rows).size == len(got) and candidates[got.rows].all()
    np.testing.assert_allclose(got.scores, expected, rtol=0, atol=tol)  # the k best scores, best first
    np.testing.assert_allclose(got.scores, scores[got.rows], rtol=0, atol=tol)  # each the reference score of its row
    if len(rows) and len(rows) < int(candidates.sum()):
        # nothing left out scores clearly above the k-th
        left_out = np.setdiff1d(np.flatnonzero(candidates), got.rows)
        assert scores[left_out].max() <= got.scores[-1] + tol
    # the exact rows are fixed only where no other candidate (kept or left out) ties a kept score within tol
    all_scores = scores[np.flatnonzero(candidates)]
    if (np.abs(expected[:, None] - all_scores[None, :]) <= tol).sum(axis=1).max(initial=1) == 1:
        np.testing.assert_array_equal(got.rows, rows)


def containing(token_lists: list[list[str]], query_tokens: list[str]) -> np.ndarray:
    wanted = set(query_tokens)
    return np.array([bool(wanted.intersection(tokens)) for tokens in token_lists])


@pytest.mark.parametrize(("n_docs", "vocabulary", "seed"), [(300, 60, 0), (500, 200, 1), (200, 15, 2)])
@pytest.mark.parametrize("filtered", [False, True])
def test_okapi_search_rows_is_the_top_k_of_rank_bm25(n_docs: int, vocabulary: int, seed: int, filtered: bool) -> None:
    corpus, queries = random_corpus(n_docs, vocabulary, seed)
    tokens = TOKENIZER.tokenize(corpus)
    reference = BM25Okapi(tokens)
    index = BM25Index("okapi", tokenizer=TOKENIZER).build(corpus)
    allowed = np.random.default_rng(seed + 10).random(n_docs) < 0.4 if filtered else None
    floored = [t for t, v in reference.idf.items() if v == reference.epsilon * reference.average_idf]
    assert floored  # some terms are in more than half the documents: their IDF is floored
    got = index.search_rows(queries, K, allowed)
    for query, cands in zip(queries, got, strict=True):
        query_tokens = TOKENIZER.tokenize([query])[0]
        scores = np.asarray(reference.get_scores(query_tokens), dtype=np.float64)
        candidates = containing(tokens, query_tokens) & (True if allowed is None else allowed)
        assert_top_k(cands, scores, candidates, K, tol=1e-9)
    assert any(len(c) for c in got)


@pytest.mark.parametrize(("corpus", "query", "sign"), [
    (["cat", "cat dog", "cat fish", "bird"], "cat", 1),  # "cat" in 3 of 4 documents: IDF floored to epsilon * mean
    (["a b", "a b", "a c"], "a b", -1),  # most terms in most documents: the mean IDF, hence the floor, is negative
])
def test_okapi_returns_every_matching_row_whatever_the_sign_of_its_score(corpus: list[str], query: str, sign: int) -> None:
    tokens = TOKENIZER.tokenize(corpus)
    query_tokens = TOKENIZER.tokenize([query])[0]
    for epsilon in (0.25, 0.0):
        reference = BM25Okapi(tokens, epsilon=epsilon)
        got = BM25Index("okapi", epsilon=epsilon, tokenizer=TOKENIZER).build(corpus).search_rows([query], K)[0]
        scores = np.asarray(reference.get_scores(query_tokens), dtype=np.float64)
        candidates = containing(tokens, query_tokens)
        assert sorted(got.rows.tolist()) == np.flatnonzero(candidates).tolist()  # every row holding a query term
        assert_top_k(got, scores, candidates, K, tol=1e-12)
        if epsilon == 0.0:
            np.testing.assert_array_equal(got.scores, 0.0)
        else:
            assert np.all(np.sign(got.scores) == sign)


words = st.sampled_from(["cat", "dog", "fish", "bird", "tree", "sun", "moon", "rain", "the", "a"])
corpora = st.lists(st.lists(words, min_size=1, max_size=10).map(" ".join), min_size=1, max_size=30)
queries_st = st.lists(st.lists(words, min_size=1, max_size=4).map(" ".join), min_size=1, max_size=4)


@given(corpus=corpora, queries=queries_st, k=st.integers(1, 12), mask_seed=st.none() | st.integers(0, 1000))
@example(corpus=["cat dog", "cat dog fish", "fish bird tree", "cat dog fish bird tree sun moon rain"], queries=["cat"], k=1,
         mask_seed=None)  # reference scores within 1e-17 of 0: a tie with a candidate left out of the top 1
@settings(max_examples=120, deadline=None)
def test_okapi_search_rows_matches_rank_bm25_on_any_small_corpus(corpus: list[str], queries: list[str], k: int,
                                                                  mask_seed: int | None) -> None:
    tokens = TOKENIZER.tokenize(corpus)
    assume(any(tokens))
    reference = BM25Okapi(tokens)
    allowed = None if mask_seed is None else np.random.default_rng(mask_seed).random(len(corpus)) < 0.5
    got = BM25Index("okapi", tokenizer=TOKENIZER).build(corpus).search_rows(queries, k, allowed)
    for query, cands in zip(queries, got, strict=True):
        query_tokens = TOKENIZER.tokenize([query])[0]
        candidates = containing(tokens, query_tokens) & (True if allowed is None else allowed)
        assert_top_k(cands, np.asarray(reference.get_scores(query_tokens), dtype=np.float64), candidates, k, tol=1e-9)


def bm25s_reference(tokens: list[list[str]], k1: float, b: float):  # type: ignore[no-untyped-def]
    bm25s = pytest.importorskip("bm25s")
    reference = bm25s.BM25(method="lucene", k1=k1, b=b, dtype="float64")
    reference.index(tokens, show_progress=False)
    return reference


@pytest.mark.parametrize(("n_docs", "vocabulary", "seed"), [(300, 60, 0), (500, 200, 1)])
@pytest.mark.parametrize(("k1", "b"), [(1.5, 0.75), (1.2, 0.3)])
@pytest.mark.parametrize("filtered", [False, True])
def test_lucene_search_rows_is_the_top_k_of_bm25s(n_docs: int, vocabulary: int, seed: int, k1: float, b: float,
                                                   filtered: bool) -> None:
    corpus, queries = random_corpus(n_docs, vocabulary, seed)
    tokens = TOKENIZER.tokenize(corpus)
    reference = bm25s_reference(tokens, k1, b)
    index = BM25Index("lucene", k1=k1, b=b, tokenizer=TOKENIZER).build(corpus)
    allowed = np.random.default_rng(seed + 20).random(n_docs) < 0.4 if filtered else None
    vocabulary_of_corpus = {t for doc in tokens for t in doc}
    for query, cands in zip(queries, index.search_rows(queries, K, allowed), strict=True):
        query_tokens = [t for t in TOKENIZER.tokenize([query])[0] if t in vocabulary_of_corpus]
        candidates = containing(tokens, query_tokens) & (True if allowed is None else allowed)
        if not query_tokens:
            assert len(cands) == 0
            continue
        scores = np.asarray(reference.get_scores(query_tokens), dtype=np.float64)
        assert_top_k(cands, scores, candidates, K, tol=1e-9)
        assert np.all(cands.scores > 0)  # Lucene's IDF is positive: every match scores above 0


@given(corpus=corpora, queries=queries_st, k=st.integers(1, 12))
@settings(max_examples=60, deadline=None)
def test_lucene_search_rows_matches_bm25s_on_any_small_corpus(corpus: list[str], queries: list[str], k: int) -> None:
    tokens = TOKENIZER.tokenize(corpus)
    reference = bm25s_reference(tokens, 1.5, 0.75)
    known = {t for doc in tokens for t in doc}
    got = BM25Index("lucene", tokenizer=TOKENIZER).build(corpus).search_rows(queries, k)
    for query, cands in zip(queries, got, strict=True):
        query_tokens = [t for t in TOKENIZER.tokenize([query])[0] if t in known]
        if not query_tokens:
            assert len(cands) == 0
            continue
        scores = np.asarray(reference.get_scores(query_tokens), dtype=np.float64)
        assert_top_k(cands, scores, containing(tokens, query_tokens), k, tol=1e-9)
