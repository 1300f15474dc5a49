"""BM25 over the parts of a corpus with corpus-wide statistics equals BM25 over the whole corpus.

The corpus is cut into row-contiguous parts, one BM25Index per part; the parts'
``statistics()`` are merged and every part is searched with ``stats=merged``; the
per-part top-k lists are merged with :func:`ragkit.core.topk.merge_top_k`. The rows must be
those of one index over the whole corpus and the scores equal (rtol 1e-12), for every
variant, with and without a filter, and after deletes.
"""

from __future__ import annotations

from functools import reduce
from itertools import pairwise

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragkit import BM25Index, BM25Tokenizer
from ragkit.core.errors import CorruptIndexError, InputError
from ragkit.core.results import Candidates
from ragkit.core.topk import merge_top_k
from ragkit.index import CorpusStats
from ragkit.index.bm25 import VARIANTS

TOKENIZER = BM25Tokenizer(stemmer=None, stopwords=None)
K = 10


def random_corpus(n_docs: int, vocabulary: int, seed: int) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(vocabulary)]

    def text(low: int, high: int) -> str:
        ids = (rng.zipf(1.4, size=int(rng.integers(low, high))) - 1) % vocabulary
        return " ".join(words[i] for i in ids)

    queries = [text(1, 6) for _ in range(40)] + ["w0", "w0 w0 w1", f"w{vocabulary - 1}", "unknown", "w3 unknown"]
    return [text(1, 20) for _ in range(n_docs)], queries


def build_parts(corpus: list[str], cuts: list[int], variant: str) -> list[BM25Index]:
    return [BM25Index(variant, tokenizer=TOKENIZER).build(corpus[lo:hi]) for lo, hi in pairwise(cuts)]


def merged_statistics(parts: list[BM25Index]) -> CorpusStats:
    return reduce(CorpusStats.merge, [p.statistics() for p in parts], CorpusStats.empty())


def search_parts(parts: list[BM25Index], cuts: list[int], queries: list[str], k: int,
                 allowed: np.ndarray | None, stats: CorpusStats) -> list[Candidates]:
    per_part = [p.search_rows(queries, k, None if allowed is None else allowed[lo:hi], stats=stats)
                for p, (lo, hi) in zip(parts, pairwise(cuts), strict=True)]
    return merge_top_k(per_part, k, cuts[:-1])


def assert_same(got: list[Candidates], want: list[Candidates]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g.rows, w.rows)
        np.testing.assert_allclose(g.scores, w.scores, rtol=1e-12, atol=0)


def df_table(stats: CorpusStats) -> dict[str, int]:
    return dict(zip(stats.terms.to_pylist(), stats.df.tolist(), strict=True))


CUTS = {
    "two halves": [0, 150, 300],
    "uneven three": [0, 7, 211, 300],
    "a one-row part": [0, 1, 120, 299, 300],
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("cuts", list(CUTS.values()), ids=list(CUTS))
@pytest.mark.parametrize("filtered", [False, True], ids=["unfiltered", "filtered"])
def test_parts_with_merged_statistics_equal_one_index_over_the_whole_corpus(
    variant: str, cuts: list[int], filtered: bool
) -> None:
    corpus, queries = random_corpus(300, 80, seed=0)
    whole = BM25Index(variant, tokenizer=TOKENIZER).build(corpus)
    parts = build_parts(corpus, cuts, variant)
    stats = merged_statistics(parts)
    assert (stats.n_docs, stats.total_len) == (whole.n_alive, sum(len(t) for t in TOKENIZER.tokenize(corpus)))
    allowed = np.random.default_rng(1).random(len(corpus)) < 0.35 if filtered else None
    for k in (1, K, 400):
        assert_same(search_parts(parts, cuts, queries, k, allowed, stats), whole.search_rows(queries, k, allowed))


def test_without_corpus_statistics_the_parts_score_differently() -> None:
    """The control: each part's own statistics do not give the whole corpus's scores."""
    corpus, queries = random_corpus(300, 80, seed=0)
    whole = BM25Index("lucene", tokenizer=TOKENIZER).build(corpus)
    parts = build_parts(corpus, CUTS["uneven three"], "lucene")
    local = merge_top_k([p.search_rows(queries, K) for p in parts], K, CUTS["uneven three"][:-1])
    want = whole.search_rows(queries, K)
    assert any(len(g) and not np.allclose(g.scores, w.scores) for g, w in zip(local, want, strict=True))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("filtered", [False, True], ids=["unfiltered", "filtered"])
def test_statistics_exclude_deleted_rows_and_the_equality_holds_after_deletes(variant: str, filtered: bool) -> None:
    corpus, queries = random_corpus(300, 80, seed=2)
    corpus[40] = corpus[40] + " onlyhere"  # a term whose only row gets deleted
    cuts = [0, 100, 230, 300]
    whole = BM25Index(variant, tokenizer=TOKENIZER).build(corpus)
    parts = build_parts(corpus, cuts, variant)
    deleted = np.array([3, 17, 40, 41, 99])  # rows of the first part
    before = parts[0].statistics()
    parts[0].delete(deleted)
    parts[2].delete([5])
    whole.delete(np.concatenate([deleted, [cuts[2] + 5]]))
    after = parts[0].statistics()
    assert after is not before
    assert after.n_docs == before.n_docs - deleted.size == parts[0].n_alive
    tokens = TOKENIZER.tokenize(corpus[:100])
    assert after.total_len == before.total_len - sum(len(tokens[r]) for r in deleted)
    assert df_table(before)["onlyhere"] == 1 and df_table(after)["onlyhere"] == 0
    live = [t for i, t in enumerate(tokens) if i not in set(deleted.tolist())]
    assert {t: df for t, df in df_table(after).items() if df} == {t: sum(t in doc for doc in live) for d in live for t in d}
    stats = merged_statistics(parts)
    assert stats.n_docs == whole.n_alive == 300 - 6
    allowed = np.random.default_rng(3).random(len(corpus)) < 0.5 if filtered else None
    queries = [*queries, "onlyhere", "onlyhere w1"]
    for k in (K, 400):
        got = search_parts(parts, cuts, queries, k, allowed, stats)
        assert_same(got, whole.search_rows(queries, k, allowed))
        assert not np.isin(np.concatenate([c.rows for c in got]), np.concatenate([deleted, [cuts[2] + 5]])).any()


@pytest.mark.parametrize("variant", VARIANTS)
def test_searching_with_the_own_statistics_equals_a_plain_search(variant: str) -> None:
    corpus, queries = random_corpus(250, 50, seed=4)
    index = BM25Index(variant, tokenizer=TOKENIZER).build(corpus)
    index.delete([0, 10, 20])
    allowed = np.random.default_rng(5).random(len(corpus)) < 0.5
    own = index.statistics()
    copy = CorpusStats.from_table(own.to_table(), own.n_docs, own.total_len)  # equal, another object
    for stats in (own, copy):
        for mask in (None, allowed):
            for got, want in zip(index.search_rows(queries, K, mask, stats=stats), index.search_rows(queries, K, mask),
                                 strict=True):
                np.testing.assert_array_equal(got.rows, want.rows)
                np.testing.assert_array_equal(got.scores, want.scores)


words = st.sampled_from(["cat", "dog", "fish", "bird", "tree", "sun", "moon", "rain", "the", "a", "and", "of"])
corpora = st.lists(st.lists(words, min_size=1, max_size=10).map(" ".join), min_size=2, max_size=40)


@given(corpus=corpora, data=st.data(), variant=st.sampled_from(VARIANTS),
       queries=st.lists(st.lists(words, min_size=1, max_size=4).map(" ".join), min_size=1, max_size=3))
@settings(max_examples=150, deadline=None)
def test_any_split_of_any_small_corpus_scores_as_the_whole(corpus: list[str], data: st.DataObject, variant: str,
                                                            queries: list[str]) -> None:
    n = len(corpus)
    inner = data.draw(st.lists(st.integers(1, n - 1), max_size=3, unique=True).map(sorted))
    cuts = [0, *inner, n]
    dead = data.draw(st.lists(st.integers(0, n - 1), max_size=n // 3, unique=True))
    mask = data.draw(st.none() | st.lists(st.booleans(), min_size=n, max_size=n).map(np.array))
    k = data.draw(st.integers(1, 12))
    whole = BM25Index(variant, tokenizer=TOKENIZER).build(corpus)
    parts = build_parts(corpus, cuts, variant)
    for part, (lo, hi) in zip(parts, pairwise(cuts), strict=True):
        local = [r - lo for r in dead if lo <= r < hi]
        if local:
            part.delete(local)
    if dead:
        whole.delete(dead)
    assert_same(search_parts(parts, cuts, queries, k, mask, merged_statistics(parts)), whole.search_rows(queries, k, mask))


def test_weights_for_a_statistics_object_are_derived_once_per_version() -> None:
    corpus, queries = random_corpus(200, 40, seed=6)
    parts = build_parts(corpus, [0, 120, 200], "lucene")
    stats = merged_statistics(parts)
    part = parts[0]
    first = part.search_rows(queries, K, stats=stats)
    version = part._require_state()
    entry = version.cache["external"]
    assert entry["stats"] is stats
    weights = entry["weights"]
    assert_same(part.search_rows(queries, K, stats=stats), first)
    assert version.cache["external"]["weights"] is weights  # reused, not derived again
    other = CorpusStats.from_table(stats.to_table(), stats.n_docs, stats.total_len)
    assert_same(part.search_rows(queries, K, stats=other), first)
    assert version.cache["external"]["stats"] is other  # at most one external entry per version
    part.delete([0])
    assert "external" not in part._require_state().cache  # a new version starts without it


def test_statistics_are_the_same_object_until_the_rows_change() -> None:
    index = BM25Index(tokenizer=TOKENIZER).build(["cat dog", "dog fish fish"])
    stats = index.statistics()
    assert index.statistics() is stats
    assert df_table(stats) == {"cat": 1, "dog": 2, "fish": 1}
    assert (stats.n_docs, stats.total_len) == (2, 5)
    index.add(["bird"])
    assert index.statistics() is not stats and df_table(index.statistics())["bird"] == 1


def test_a_term_unknown_to_the_statistics_scores_nothing() -> None:
    part = BM25Index("lucene", tokenizer=TOKENIZER).build(["cat", "cat zebra", "zebra"])
    stats = BM25Index("lucene", tokenizer=TOKENIZER).build(["cat", "dog"]).statistics()  # no "zebra"
    assert len(part.search_rows(["zebra"], K, stats=stats)[0]) == 0  # zero weight: no positive score
    hits = part.search_rows(["cat zebra"], K, stats=stats)[0]
    assert sorted(hits.rows.tolist()) == [0, 1]  # matched through "cat" only
    okapi = BM25Index("okapi", tokenizer=TOKENIZER).build(["cat", "cat zebra", "zebra"])
    zero = okapi.search_rows(["zebra"], K, stats=stats)[0]  # Okapi keeps matches of any score: IDF 0 -> 0
    assert sorted(zero.rows.tolist()) == [1, 2] and np.all(zero.scores == 0.0)


@pytest.mark.parametrize("bad", [{"terms": ["cat"]}, "stats", 3, pa.table({"term": ["cat"], "df": [1]})])
def test_stats_that_are_not_corpus_stats_are_an_input_error(bad: object) -> None:
    index = BM25Index(tokenizer=TOKENIZER).build(["cat", "dog"])
    with pytest.raises(InputError, match="'stats' must be a CorpusStats"):
        index.search_rows(["cat"], K, stats=bad)  # type: ignore[arg-type]


# -- CorpusStats itself ---------------------------------------------------------------
def stats_of(texts: list[str]) -> CorpusStats:
    return BM25Index(tokenizer=TOKENIZER).build(texts).statistics()


def test_merge_adds_document_frequencies_rows_and_lengths() -> None:
    a, b = stats_of(["cat dog", "dog"]), stats_of(["dog fish", "bird bird cat"])
    merged = a.merge(b)
    assert df_table(merged) == {"cat": 2, "dog": 3, "fish": 1, "bird": 1}
    assert merged.terms.to_pylist() == ["cat", "dog", "fish", "bird"]  # order of first appearance
    assert (merged.n_docs, merged.total_len) == (4, 8)
    assert merged.df.dtype == np.int64
    assert df_table(b.merge(a)) == df_table(merged)
    assert df_table(a.merge(CorpusStats.empty())) == df_table(a) and df_table(CorpusStats.empty().merge(a)) == df_table(a)
    c = stats_of(["fish fish", "eel"])
    assert df_table(a.merge(b).merge(c)) == df_table(a.merge(b.merge(c)))
    with pytest.raises(InputError, match="expects a CorpusStats"):
        a.merge({"cat": 1})  # type: ignore[arg-type]


def test_empty_statistics() -> None:
    empty = CorpusStats.empty()
    assert len(empty.terms) == 0 and empty.df.shape == (0,) and (empty.n_docs, empty.total_len) == (0, 0)
    assert empty.to_table().num_rows == 0
    assert empty.to_table().schema.names == ["term", "df"]


def test_table_round_trip() -> None:
    stats = stats_of(["cat dog", "dog fish", "dog"])
    table = stats.to_table()
    assert table.schema.field("term").type == pa.string() and table.schema.field("df").type == pa.int64()
    back = CorpusStats.from_table(table, stats.n_docs, stats.total_len)
    assert df_table(back) == df_table(stats) and (back.n_docs, back.total_len) == (3, 5)
    chunked = pa.concat_tables([table.slice(0, 1), table.slice(1)])  # several chunks, int32 counts
    chunked = chunked.set_column(1, "df", chunked.column("df").cast(pa.int32()))
    assert df_table(CorpusStats.from_table(chunked, 3, 5)) == df_table(stats)


@pytest.mark.parametrize(("table", "n_docs", "match"), [
    (pa.table({"term": ["cat"]}), 3, "malformed"),
    (pa.table({"df": [1]}), 3, "malformed"),
    (pa.table({"term": ["cat"], "df": ["one"]}), 3, "malformed"),
    (pa.table({"term": ["cat"], "df": [1.5]}), 3, "malformed"),
    (pa.table({"term": ["cat", None], "df": [1, 1]}), 3, "null"),
    (pa.table({"term": ["cat", "dog"], "df": [1, None]}), 3, "null"),
    (pa.table({"term": ["cat", "cat"], "df": [1, 1]}), 3, "twice"),
    (pa.table({"term": ["cat"], "df": [-1]}), 3, "0..3"),
    (pa.table({"term": ["cat"], "df": [4]}), 3, "0..3"),
    (pa.table({"term": ["cat"], "df": [1]}), -1, "malformed"),
])
def test_a_malformed_table_is_a_corrupt_index_error(table: pa.Table, n_docs: int, match: str) -> None:
    with pytest.raises(CorruptIndexError, match=match):
        CorpusStats.from_table(table, n_docs, 10)


def test_combine_is_merging_in_order_in_one_pass() -> None:
    corpus, _ = random_corpus(400, 300, seed=7)
    parts = build_parts(corpus, [0, 50, 51, 200, 400], "okapi")
    parts[1].delete([0])  # a part with no live row
    pieces = [p.statistics() for p in parts]
    combined = CorpusStats.combine(pieces)
    merged = reduce(CorpusStats.merge, pieces)
    assert combined.terms.equals(merged.terms)  # same terms, same order (first appearance)
    np.testing.assert_array_equal(combined.df, merged.df)
    assert (combined.n_docs, combined.total_len) == (merged.n_docs, merged.total_len)
    whole = BM25Index("okapi", tokenizer=TOKENIZER).build(corpus)
    whole.delete([50])
    expected = whole.statistics()  # one index over the corpus lists the same terms in the same order
    assert expected.terms.equals(combined.terms)
    np.testing.assert_array_equal(expected.df, combined.df)
    assert (expected.n_docs, expected.total_len) == (combined.n_docs, combined.total_len)
    assert CorpusStats.combine([]).n_docs == 0 and len(CorpusStats.combine([CorpusStats.empty()]).terms) == 0
    with pytest.raises(InputError, match="sequence of CorpusStats"):
        CorpusStats.combine([pieces[0], "not stats"])  # type: ignore[list-item]
