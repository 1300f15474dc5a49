"""The plain (numpy) BM25 query path gives the compiled path's rows and float64 scores, and spares a one-off
query the kernels' load.

A small batch in a process that has not loaded the compiled kernels is answered by
``query.top_k_plain`` (Arrow's hash lookup, numpy over the touched postings). This test
process has the kernels loaded, so the plain path is forced by patching ``use_kernels``
where the index calls it; a fresh subprocess checks the real decision.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from ragkit import BM25Index
from ragkit.core.errors import CorruptIndexError
from ragkit.core.results import Candidates
from ragkit.index.bm25 import kernels
from ragkit.index.bm25.query import KERNEL_BATCH, lookup, lookup_plain, term_table
from ragkit.index.bm25.scoring import VARIANTS, tf_weights

from .conftest import TOKENIZER, zipf_corpus


def corpus(n_docs: int, seed: int) -> tuple[list[str], list[str]]:
    return zipf_corpus(n_docs, seed, 40, ["w0", "w79 w78 w79", "nope", "", "w3 nope w3"])


@pytest.fixture
def plain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every search in the test takes the plain path."""
    monkeypatch.setattr("ragkit.index.bm25.query.use_kernels", lambda n_queries: False)


def assert_same(got: list[Candidates], expected: list[Candidates]) -> None:
    assert len(got) == len(expected)
    for q, (a, b) in enumerate(zip(got, expected, strict=True)):
        assert a.rows.tolist() == b.rows.tolist(), f"query {q}: rows differ"
        np.testing.assert_array_equal(a.scores, b.scores, err_msg=f"query {q}: scores differ")  # bit-identical


def both_paths(index: BM25Index, queries: list[str], k: int, monkeypatch: pytest.MonkeyPatch,
               **options: object) -> tuple[list[Candidates], list[Candidates]]:
    compiled = index.search_rows(queries, k, **options)  # type: ignore[arg-type]
    with monkeypatch.context() as patch:
        patch.setattr("ragkit.index.bm25.query.use_kernels", lambda n_queries: False)
        plain = index.search_rows(queries, k, **options)  # type: ignore[arg-type]
    return plain, compiled


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("filtered", [False, True])
@pytest.mark.parametrize("n_docs", [40, 3000])
def test_plain_equals_compiled(variant: str, filtered: bool, n_docs: int, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    texts, queries = corpus(n_docs, seed=n_docs + 1)
    built = BM25Index(variant, tokenizer=TOKENIZER).build(texts)  # type: ignore[arg-type]
    built.save(tmp_path)
    allowed = np.random.default_rng(4).random(n_docs) < 0.4 if filtered else None
    for k in (1, 3, 10, 5000):
        fresh = BM25Index.load(tmp_path, built.get_config())  # no derived weights, no term table: all on the fly
        with monkeypatch.context() as patch:
            patch.setattr("ragkit.index.bm25.query.use_kernels", lambda n_queries: False)
            cold = fresh.search_rows(queries, k, allowed)
        assert "term_table" not in fresh._require_state().cache and fresh._vocab is None
        assert_same(cold, built.search_rows(queries, k, allowed))
        plain, compiled = both_paths(built, queries, k, monkeypatch, allowed=allowed)  # derived weights reused
        assert_same(plain, compiled)


@pytest.mark.parametrize("variant", VARIANTS)
def test_plain_equals_compiled_with_corpus_wide_statistics(variant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    texts, queries = corpus(600, seed=9)
    parts = [BM25Index(variant, tokenizer=TOKENIZER).build(texts[:200]),  # type: ignore[arg-type]
             BM25Index(variant, tokenizer=TOKENIZER).build([*texts[200:], "onlyhere"])]  # type: ignore[arg-type]
    stats = parts[0].statistics().merge(parts[1].statistics())
    for part in parts:
        plain, compiled = both_paths(part, [*queries, "onlyhere w1"], 7, monkeypatch, stats=stats)
        assert_same(plain, compiled)


def test_plain_equals_compiled_after_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    texts, queries = corpus(300, seed=2)
    index = BM25Index("okapi", tokenizer=TOKENIZER).build(texts)
    index.delete(np.arange(0, 300, 7))
    index.add(["w0 w1 w2 fresh", "fresh fresh"])
    plain, compiled = both_paths(index, [*queries, "fresh"], 12, monkeypatch)
    assert_same(plain, compiled)
    assert not set(np.arange(0, 300, 7).tolist()) & {int(r) for c in plain for r in c.rows}


def test_a_corrupt_posting_row_raises_on_the_plain_path(tmp_path: Path, plain: None) -> None:
    from ragkit.core.arrow_io import write_table

    index = BM25Index(tokenizer=TOKENIZER).build(["cat dog", "dog"])
    index.save(tmp_path)
    write_table(tmp_path / "bm25_postings.arrow", pa.table({"row": pa.array([0, 9, 1], pa.int32()),
                                                             "tf": pa.array([1, 1, 1], pa.int32())}))
    loaded = BM25Index.load(tmp_path, index.get_config())
    with pytest.raises(CorruptIndexError, match="outside the 2 rows"):
        loaded.search_rows(["dog"], 1)
    assert loaded.search_rows(["cat"], 1)[0].rows.tolist() == [0]  # postings of other terms still answer


def test_plain_lookup_equals_the_compiled_table() -> None:
    terms = [f"t{i}" for i in range(3000)] + ["café", "日本", "ß", ""]
    queries = [["café", "t5", "zzz", "t5"], [], ["日本"], ["nope"], ["ß", "t2999", "t3000"]]
    for n_terms in (len(terms), 1500):  # a version knows only its first terms
        expected = lookup(term_table(terms, n_terms), queries)
        for source in (terms, pa.array(terms, pa.string())):
            got = lookup_plain(source, n_terms, queries)
            np.testing.assert_array_equal(got[0], expected[0])
            np.testing.assert_array_equal(got[1], expected[1])


@pytest.mark.parametrize("variant", VARIANTS)
def test_vectorised_tf_weights_are_the_kernel_formulas(variant: str) -> None:
    rng = np.random.default_rng(1)
    tf = rng.integers(1, 40, size=500).astype(np.int32)
    norm = rng.uniform(0.2, 3.0, size=500)
    got = tf_weights(variant, tf, norm, 1.37, 0.6)
    code = kernels.VARIANT_CODES[variant]
    expected = np.array([kernels.tf_weight(code, float(t), float(n), 1.37, 0.6) for t, n in zip(tf, norm, strict=True)])
    np.testing.assert_array_equal(got, expected)


def test_a_one_off_query_does_not_load_the_kernels_and_a_large_batch_does(tmp_path: Path) -> None:
    texts, queries = corpus(800, seed=12)
    index = BM25Index(tokenizer=TOKENIZER).build(texts)
    index.save(tmp_path)
    code = f"""
import json, sys
from ragkit import BM25Index
from pathlib import Path
index = BM25Index.load(Path({str(tmp_path)!r}), {index.get_config()!r})
one = index.search_rows({queries[:1]!r}, 5)
loaded_after_one = "numba" in sys.modules
batch = index.search_rows({queries[:KERNEL_BATCH]!r}, 5)
print(json.dumps([loaded_after_one, "numba" in sys.modules, one[0].rows.tolist(), one[0].scores.tolist(),
                  [c.rows.tolist() for c in batch]]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded_after_one, loaded_after_batch, rows, scores, batch = json.loads(out.stdout)
    assert not loaded_after_one and loaded_after_batch
    expected = index.search_rows(queries[:KERNEL_BATCH], 5)
    assert rows == expected[0].rows.tolist() and scores == expected[0].scores.tolist()
    assert batch == [c.rows.tolist() for c in expected]


def test_a_process_moves_to_the_kernels_once_the_plain_path_has_cost_their_load(tmp_path: Path) -> None:
    """Rent until the rent equals the price: single queries stay plain until their time reaches the load cost.

    The budget is set huge for the first queries (they must stay plain however fast they run), then just
    above zero (the time they spent now exceeds it: the next query must load the kernels).
    """
    texts, queries = corpus(800, seed=13)
    index = BM25Index(tokenizer=TOKENIZER).build(texts)
    index.save(tmp_path)
    code = f"""
import json, sys
from pathlib import Path
from ragkit import BM25Index
from ragkit.index.bm25 import query
query.KERNEL_LOAD_SECONDS = 1e9
index = BM25Index.load(Path({str(tmp_path)!r}), {index.get_config()!r})
results, loaded = [], []
for n, q in enumerate({queries!r}):
    if n == 3:
        query.KERNEL_LOAD_SECONDS = 1e-12
    found = index.search_rows([q], 5)[0]
    loaded.append("numba" in sys.modules)
    results.append([found.rows.tolist(), found.scores.tolist()])
print(json.dumps([loaded, results]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded, results = json.loads(out.stdout)
    assert loaded[:3] == [False, False, False] and all(loaded[3:])  # plain within the budget, compiled after it
    expected = index.search_rows(queries, 5)
    assert results == [[c.rows.tolist(), c.scores.tolist()] for c in expected]
