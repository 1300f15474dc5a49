"""BM25Index: scores against reference implementations, filters, persistence, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi

from ragkit import BM25Index, BM25Tokenizer, ConfigError, EmptyCorpusError, InputError, NotBuiltError

CORPUS = [
    "the cat sat on the mat",
    "dogs bark loudly at cats",
    "a cat and a dog are friends",
    "nothing to see here",
    "cats cats cats purr",
    "running runners run quickly",
]
PLAIN = BM25Tokenizer(stemmer=None)

words = st.sampled_from(["cat", "dog", "fish", "bird", "tree", "sun", "moon", "rain", "the", "a", "and"])
corpora = st.lists(st.lists(words, min_size=1, max_size=12).map(" ".join), min_size=1, max_size=25)


@given(corpus=corpora, query=st.lists(words, min_size=1, max_size=5).map(" ".join))
@settings(max_examples=150, deadline=None)
def test_okapi_scores_equal_rank_bm25(corpus: list[str], query: str) -> None:
    assume(any(PLAIN.tokenize(corpus)))  # rank-bm25 cannot build from stop words alone
    index = BM25Index("okapi", tokenizer=PLAIN).build(corpus)
    reference = BM25Okapi(PLAIN.tokenize(corpus))
    expected = reference.get_scores(PLAIN.tokenize([query])[0])
    np.testing.assert_allclose(index.get_scores(query), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("k1", "b"), [(1.5, 0.75), (0.9, 0.4), (2.0, 1.0)])
def test_lucene_scores_equal_bm25s(k1: float, b: float) -> None:
    bm25s = pytest.importorskip("bm25s")
    tokens = PLAIN.tokenize(CORPUS)
    reference = bm25s.BM25(method="lucene", k1=k1, b=b)
    reference.index(tokens, show_progress=False)
    index = BM25Index("lucene", k1=k1, b=b, tokenizer=PLAIN).build(CORPUS)
    for query in ["cat", "cats purr", "dogs bark", "run quickly"]:
        expected = reference.get_scores(PLAIN.tokenize([query])[0])
        np.testing.assert_allclose(index.get_scores(query), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("variant", ["lucene", "okapi", "bm25+", "bm25l"])
def test_every_variant_ranks_the_obvious_document_first(variant: str) -> None:
    index = BM25Index(variant, tokenizer=PLAIN).build(CORPUS)
    top = index.search_rows(["cats purr"], k=1)[0]
    assert top.rows.tolist() == [4]


def test_search_returns_only_matching_rows_best_first() -> None:
    index = BM25Index(tokenizer=PLAIN).build(CORPUS)
    result = index.search_rows(["cat"], k=10)[0]
    assert set(result.rows.tolist()) == {0, 2}  # "cats" is another term without stemming
    assert np.all(np.diff(result.scores) <= 0)


def test_stemming_conflates_word_forms() -> None:
    index = BM25Index(tokenizer=BM25Tokenizer(stemmer="english")).build(CORPUS)
    assert set(index.search_rows(["cat"], k=10)[0].rows.tolist()) == {0, 1, 2, 4}
    assert index.search_rows(["runs"], k=10)[0].rows.tolist() == [5]


@pytest.mark.parametrize("query", ["the and a", "zzzz unknown", "!!!"])
def test_queries_without_known_terms_return_no_hits(query: str) -> None:
    index = BM25Index().build(CORPUS)
    assert len(index.search_rows([query], k=5)[0]) == 0


def test_filtered_search_returns_k_allowed_rows() -> None:
    corpus = [f"common word {i}" for i in range(50)]
    index = BM25Index(tokenizer=PLAIN).build(corpus)
    allowed = np.zeros(50, dtype=bool)
    allowed[[3, 17, 41, 44]] = True
    result = index.search_rows(["common"], k=3, allowed=allowed)[0]
    assert len(result) == 3 and set(result.rows.tolist()) <= {3, 17, 41, 44}
    assert len(index.search_rows(["common"], k=10, allowed=allowed)[0]) == 4


def test_ties_are_broken_by_row() -> None:
    index = BM25Index(tokenizer=PLAIN).build(["same text"] * 5)
    assert index.search_rows(["same"], k=3)[0].rows.tolist() == [0, 1, 2]


def test_save_and_load_give_identical_scores(tmp_path: Path) -> None:
    index = BM25Index("okapi", k1=1.2, b=0.6).build(CORPUS)
    files = index.save(tmp_path)
    assert all((tmp_path / f).is_file() for f in files)
    loaded = BM25Index.load(tmp_path, index.get_config())
    assert loaded.get_config() == index.get_config()
    for query in ["cat", "dogs barking", "run"]:
        np.testing.assert_array_equal(loaded.get_scores(query), index.get_scores(query))


def test_config_round_trip_keeps_tokenizer() -> None:
    index = BM25Index("bm25l", delta=0.7, tokenizer=BM25Tokenizer(stopwords=None, stemmer="porter"))
    again = BM25Index.from_config(index.get_config())
    assert again.config == index.config


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"variant": "bm26"}, "'variant' parameter of BM25Index must be one of"),
        ({"k1": -1.0}, "'k1' parameter of BM25Index"),
        ({"b": 1.5}, r"'b' parameter of BM25Index must be a number in \[0.0, 1.0\]. Got 1.5"),
    ],
)
def test_bad_parameters_raise_config_error(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        BM25Index(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"stemmer": "klingon"}, "'stemmer'"), ({"stopwords": "xx"}, "'stopwords'"), ({"pattern": "("}, "not a valid regex")],
)
def test_bad_tokenizer_parameters_raise_config_error(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        BM25Tokenizer(**kwargs)


def test_bad_input() -> None:
    with pytest.raises(EmptyCorpusError):
        BM25Index().build([])
    with pytest.raises(NotBuiltError):
        BM25Index().search_rows(["x"], k=1)
    index = BM25Index().build(CORPUS)
    with pytest.raises(InputError, match="'k' parameter"):
        index.search_rows(["cat"], k=0)
    with pytest.raises(InputError, match="list of queries"):
        index.search_rows("cat", k=1)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="allowed mask"):
        index.search_rows(["cat"], k=1, allowed=np.ones(3, dtype=bool))


def test_tokenizer_must_be_a_bm25_tokenizer() -> None:
    with pytest.raises(ConfigError, match="'tokenizer' parameter of BM25Index must be a BM25Tokenizer"):
        BM25Index(tokenizer="regex")  # type: ignore[arg-type]


def test_postings_pointing_outside_the_rows_are_caught_on_first_use(tmp_path: Path) -> None:
    import pyarrow as pa

    from ragkit import CorruptIndexError
    from ragkit.core.arrow_io import read_table, write_table

    index = BM25Index().build(CORPUS)
    index.save(tmp_path)
    postings = read_table(tmp_path / "bm25_postings.arrow")
    rows = postings.column("row").to_numpy().copy()
    rows[0] = 10_000
    write_table(tmp_path / "bm25_postings.arrow", pa.table({"row": rows, "tf": postings.column("tf")}))
    loaded = BM25Index.load(tmp_path, index.get_config())
    with pytest.raises(CorruptIndexError, match="outside the 6 rows"):
        loaded.search_rows(["cat"], k=3)
