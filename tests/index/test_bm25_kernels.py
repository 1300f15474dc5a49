"""The compiled BM25 kernels: both selection paths against a brute-force top-k, term lookup, first query after open."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragkit import BM25Index
from ragkit.core.arrow_io import encode_utf8
from ragkit.core.errors import CorruptIndexError
from ragkit.index.bm25 import kernels
from ragkit.index.bm25.postings import DENSE_MAX_ROWS, NO_DENSE_ROWS, utf8_buffers
from ragkit.index.bm25.query import lookup, scratch, term_table, token_bytes, top_k
from ragkit.index.bm25.scoring import posting_weights

from .conftest import TOKENIZER, zipf_corpus


def corpus(n_docs: int, seed: int) -> tuple[list[str], list[str]]:
    return zipf_corpus(n_docs, seed, 60, ["w0", "w79 w78", "nope"])


def brute_top_k(index: BM25Index, query: str, k: int, allowed: np.ndarray | None, okapi: bool) -> tuple[list[int], np.ndarray]:
    state = index._require_state()
    (scores,), (matched,) = index._score_block(state, *index._term_ids([query], state))
    keep = matched if okapi else matched & (scores != 0)
    if allowed is not None:
        keep &= allowed
    rows = np.flatnonzero(keep)
    order = np.lexsort((rows, -scores[rows]))[:k]
    return rows[order].tolist(), scores[rows[order]]


@pytest.mark.parametrize("variant", ["lucene", "okapi", "bm25+", "bm25l"])
@pytest.mark.parametrize("filtered", [False, True])
@pytest.mark.parametrize("n_docs", [40, 3000])  # few rows: most queries scan every row; many: they list touched rows
def test_search_is_the_brute_force_top_k_on_both_paths(variant: str, filtered: bool, n_docs: int) -> None:
    texts, queries = corpus(n_docs, seed=n_docs)
    index = BM25Index(variant, tokenizer=TOKENIZER).build(texts)  # type: ignore[arg-type]
    allowed = np.random.default_rng(3).random(n_docs) < 0.5 if filtered else None
    for k in (1, 3, 10, 5000):
        got = index.search_rows(queries, k, allowed)
        for query, cands in zip(queries, got, strict=True):
            rows, scores = brute_top_k(index, query, k, allowed, okapi=variant == "okapi")
            assert cands.rows.tolist() == rows  # same rows in the same order, ties by lower row
            np.testing.assert_array_equal(cands.scores, scores)  # bit-identical sums
    scores, seen, _ = scratch(index.num_rows)
    assert not scores.any() and not seen.any()  # the scratch is left zeroed


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_the_block_scan_keeps_the_brute_force_top_k_with_many_ties(data: st.DataObject) -> None:
    """Rows drawn from three short texts (scores repeat in every block); a query on a common word takes the
    block scan, whose skipped blocks must hold no top-k row, ties by lower row."""
    n_docs = data.draw(st.integers(1, 300))
    texts = [["a", "a b", "a a c"][i] for i in data.draw(st.lists(st.integers(0, 2), min_size=n_docs, max_size=n_docs))]
    variant = data.draw(st.sampled_from(["lucene", "okapi", "bm25+", "bm25l"]))
    index = BM25Index(variant, tokenizer=TOKENIZER).build(texts)  # type: ignore[arg-type]
    allowed = np.array(data.draw(st.lists(st.booleans(), min_size=n_docs, max_size=n_docs))) if data.draw(st.booleans()) else None
    k = data.draw(st.integers(1, 40))
    for query in ("a", "a b", "c a"):
        rows, scores = brute_top_k(index, query, k, allowed, okapi=variant == "okapi")
        got = index.search_rows([query], k, allowed)[0]  # compiled: the build loaded the kernels
        assert got.rows.tolist() == rows
        np.testing.assert_array_equal(got.scores, scores)


@pytest.mark.parametrize("start", [0, 1100, 2200])
def test_block_selection_with_the_matches_in_one_run_of_rows(start: int) -> None:
    """Matches packed in 800 neighbouring rows of 3000 (enough postings to scan every row): most blocks and groups
    of blocks hold no match (their maxima 0), so the bound on the k-th best comes from the few that do."""
    rng = np.random.default_rng(start)
    texts = ["z"] * 3000
    for i in range(start, start + 800):
        texts[i] = " ".join(rng.choice(["a", "b", "z"], size=int(rng.integers(1, 6))))
    index = BM25Index(tokenizer=TOKENIZER).build(texts)
    assert sum(("a" in t.split()) + ("b" in t.split()) for t in texts) * 4 >= 3000  # the query's postings
    for k in (1, 10, 64, 300):
        rows, scores = brute_top_k(index, "a b", k, None, okapi=False)
        got = index.search_rows(["a b"], k)[0]
        assert got.rows.tolist() == rows
        np.testing.assert_array_equal(got.scores, scores)


def test_dense_rows_hold_the_common_terms_weights_within_the_memory_of_the_weights() -> None:
    texts, _ = corpus(3000, seed=7)
    index = BM25Index(tokenizer=TOKENIZER).build(texts)
    state = index._require_state()
    derived = state.scoring(index.config)
    slot, rows = derived["dense"]
    df, weights, p = state.postings.df(), derived["weights"], state.postings
    assert slot.shape == df.shape and rows.nbytes <= weights.nbytes and rows.shape[0] > 0
    assert set(np.flatnonzero(slot >= 0).tolist()) <= set(np.flatnonzero(df >= 0.25 * 3000).tolist())
    for t in np.flatnonzero(slot >= 0):
        expected = np.zeros(3000)
        expected[p.rows[p.indptr[t]:p.indptr[t + 1]]] = weights[p.indptr[t]:p.indptr[t + 1]]
        np.testing.assert_array_equal(rows[slot[t]], expected)
    assert not rows.flags.writeable and not slot.flags.writeable
    big = BM25Index(tokenizer=TOKENIZER).build(["w0"] * (DENSE_MAX_ROWS + 1))
    assert big._require_state().scoring(big.config)["dense"][1].shape[0] == 0  # past the size where they pay
    okapi = BM25Index("okapi", tokenizer=TOKENIZER).build(texts)
    assert okapi._require_state().scoring(okapi.config)["dense"][1].shape[0] == 0  # Okapi's scan needs the postings


def test_dense_rows_change_no_score_or_rank() -> None:
    """The same top k, bit for bit, with the common terms' dense rows and with their postings scattered."""
    texts, queries = corpus(3000, seed=11)
    index = BM25Index(tokenizer=TOKENIZER).build(texts)
    state = index._require_state()
    derived = state.scoring(index.config)
    assert derived["dense"][1].shape[0] > 0
    terms, q_indptr = index._query_ids(index.config.tokenizer.tokenize(queries), state)
    for k in (1, 10, 500):
        args = (state.postings, derived["weights"], state.n_rows, terms, q_indptr, k, None)
        with_rows = top_k(*args, keep_zero=False, dense=derived["dense"])
        scattered = top_k(*args, keep_zero=False, dense=NO_DENSE_ROWS)
        for a, b in zip(with_rows, scattered, strict=True):
            assert a.rows.tolist() == b.rows.tolist()
            np.testing.assert_array_equal(a.scores, b.scores)


def test_both_paths_are_taken() -> None:
    """The data above does reach both paths: a query with few postings and one with many."""
    texts, _ = corpus(3000, seed=3000)
    index = BM25Index(tokenizer=TOKENIZER).build(texts)
    df = index._require_state().postings.df()
    assert df.max() * 4 >= index.num_rows > df.min() * 4


def test_ties_keep_the_lower_rows_on_both_paths() -> None:
    texts = ["a"] * 50 + ["a b"] * 50
    index = BM25Index(tokenizer=TOKENIZER).build(texts)
    assert index.search_rows(["a"], 3)[0].rows.tolist() == [0, 1, 2]  # dense: shorter rows score higher, ties: lower
    assert index.search_rows(["b"], 3)[0].rows.tolist() == [50, 51, 52]  # equal scores: lower rows
    big = BM25Index(tokenizer=TOKENIZER).build(["x"] * 10 + ["y"] * 1000 + ["x"] * 10)
    assert big.search_rows(["x"], 15)[0].rows.tolist() == [*range(10), *range(1010, 1015)]  # sparse path


def test_term_lookup_handles_unicode_unknown_and_many_terms() -> None:
    terms = [f"t{i}" for i in range(5000)] + ["café", "日本", "ß"]
    lengths, data = encode_utf8(terms)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    slots = kernels.term_table(offsets, data)
    queries = [["日本", "nope", "t4999"], [], ["café", "ß", "t0", "t0"]]
    flat = [t for q in queries for t in q]
    q_lengths, q_data = encode_utf8(flat)
    ids, q_indptr = kernels.lookup_terms(slots, offsets, data, q_lengths, q_data, np.array([len(q) for q in queries]))
    assert ids.tolist() == [5001, 4999, 5000, 5002, 0, 0] and q_indptr.tolist() == [0, 2, 2, 6]


@pytest.mark.parametrize("queries", [
    [["日本", "nope", "t4999"], [], ["café", "ß", "t0", "t0"]],  # tokens joined by 0 bytes, lengths found by the kernel
    [[""], ["", "t1", ""], []],  # empty tokens between separators
    [["a\x00b", "t2"], ["\x00"]],  # a token holding a 0 byte: explicit lengths
])
def test_query_tokens_are_found_whether_joined_or_measured(queries: list[list[str]]) -> None:
    terms = [f"t{i}" for i in range(5000)] + ["café", "日本", "ß", "", "a\x00b", "\x00"]
    table = term_table(terms, len(terms))
    ids, q_indptr = lookup(table, queries)
    known = {t: i for i, t in enumerate(terms)}
    expected = [[known[t] for t in q if t in known] for q in queries]
    assert ids.tolist() == [i for q in expected for i in q]
    assert np.diff(q_indptr).tolist() == [len(q) for q in expected]
    lengths, _ = token_bytes([t for q in queries for t in q])
    assert (lengths.size == 0) == all("\x00" not in t for q in queries for t in q)  # which form was taken


@pytest.mark.parametrize("strings", [[], [""], ["", "a", ""], ["日本", "", "café", "ß", "😀x", "a"], ["abc", "de"]])
def test_utf8_encoding_gives_each_strings_byte_length(strings: list[str]) -> None:
    lengths, data = encode_utf8(strings)
    encoded = [s.encode("utf-8") for s in strings]
    assert lengths.dtype == np.int64 and lengths.tolist() == [len(b) for b in encoded]
    assert bytes(data) == b"".join(encoded)


def test_arrow_buffers_of_a_sliced_array() -> None:
    import pyarrow as pa

    offsets, data = utf8_buffers(pa.array(["ab", "cde", "f"]).slice(1, 2))
    pairs = zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)
    assert [bytes(data[a:b]).decode() for a, b in pairs] == ["cde", "f"]


def test_a_posting_outside_the_rows_is_reported() -> None:
    indptr, rows, tf = np.array([0, 2]), np.array([0, 7], dtype=np.int32), np.array([1, 1], dtype=np.int32)
    _, bad = posting_weights("lucene", indptr, rows, tf, np.array([3, 4], dtype=np.int32), 3.5, np.ones(1), 1.5, 0.75, 0.5)
    assert bad == 1
    with pytest.raises(ValueError, match="unknown BM25 variant"):
        posting_weights("nope", indptr, rows, tf, np.ones(8, dtype=np.int32), 1.0, np.ones(1), 1.5, 0.75, 0.5)


def test_a_corrupt_posting_row_raises_at_the_first_query(tmp_path: Path) -> None:
    import pyarrow as pa

    from ragkit.core.arrow_io import write_table

    index = BM25Index(tokenizer=TOKENIZER).build(["cat dog", "dog"])
    index.save(tmp_path)
    write_table(tmp_path / "bm25_postings.arrow", pa.table({"row": pa.array([0, 9, 1], pa.int32()),
                                                             "tf": pa.array([1, 1, 1], pa.int32())}))
    loaded = BM25Index.load(tmp_path, index.get_config())
    with pytest.raises(CorruptIndexError, match="outside the 2 rows"):
        loaded.search_rows(["dog"], 1)


def test_the_first_query_after_open_builds_no_python_vocabulary(tmp_path: Path) -> None:
    texts, queries = corpus(500, seed=5)
    index = BM25Index(tokenizer=TOKENIZER).build(texts)
    index.save(tmp_path)
    loaded = BM25Index.load(tmp_path, index.get_config())
    got = loaded.search_rows(queries, 10)
    assert loaded._vocab is None  # looked up in the hash table of the stored terms
    for a, b in zip(got, index.search_rows(queries, 10), strict=True):
        np.testing.assert_array_equal(a.rows, b.rows)
        np.testing.assert_array_equal(a.scores, b.scores)
    loaded.add(["w0 brandnew"])  # an update builds the vocabulary and a new table
    assert loaded.search_rows(["brandnew"], 1)[0].rows.tolist() == [500]


def test_import_ragkit_does_not_import_numba() -> None:
    code = "import sys, ragkit; from ragkit import BM25Index; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_built_and_opened_indexes_share_one_compiled_specialisation(tmp_path: Path) -> None:
    """numba compiles a kernel per kind of array (writable or not); a built index and one memory-mapped from its
    files must pass the same kinds, so ``warm_kernels`` (what ``ragkit serve`` runs first) covers both."""
    code = f"""
import numpy as np
from pathlib import Path
from ragkit import BM25Index
from ragkit.index.bm25 import kernels, warm_kernels
warm_kernels()
index = BM25Index().build(["cat dog", "dog bird", "bird"] * 50)
index.save(Path({str(tmp_path)!r}))
opened = BM25Index.load(Path({str(tmp_path)!r}), index.get_config())
for idx in (index, opened):
    idx.search_rows(["dog"] * 9, 2)
    idx.search_rows(["dog"] * 9, 2, np.ones(150, dtype=bool))
print(*(len(f.signatures) for f in (kernels.search_tokens, kernels.posting_weights, kernels.term_table)))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "1", "1"], out.stdout + out.stderr
