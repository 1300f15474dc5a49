"""Bring your own vectors: build_collection and index_corpus take precomputed, checked document vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ragkit
from ragkit.pipeline import index_corpus
from ragkit.testing import HashEmbedder

DOCS = [ragkit.Document(id="a", text="Cats purr when content. " * 6), ragkit.Document(id="b", text="Dogs bark at strangers.")]


def _chunker() -> ragkit.RecursiveChunker:
    return ragkit.RecursiveChunker(max_tokens=12, overlap=2, tokenizer="regex")


def _unit(n: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def ids() -> list[str]:
    return ragkit.build_collection(DOCS, chunker=_chunker(), indexes=[ragkit.BM25Index()]).chunk_ids()


def _stored(col: ragkit.Collection) -> np.ndarray:
    index: Any = col.index("vector")
    return np.asarray(index.row_vectors(np.arange(col.num_rows)))


@pytest.mark.parametrize("form", ["array", "float64", "mapping", "callable"])
def test_given_vectors_are_stored_in_chunk_order(ids: list[str], form: str) -> None:
    vectors = _unit(len(ids))
    given: Any = {"array": vectors, "float64": vectors.astype(np.float64), "mapping": dict(zip(ids, vectors, strict=True)),
                  "callable": lambda wanted: vectors[[ids.index(i) for i in wanted]]}[form]
    col = ragkit.build_collection(DOCS, chunker=_chunker(), embedder=HashEmbedder(dimension=8), vectors=given)
    assert col.chunk_ids() == ids
    np.testing.assert_allclose(_stored(col), vectors, atol=1e-6)
    top = ragkit.DenseRetriever(col).search_batch(["x"], k=1, query_vectors=vectors[[3]])[0][0]
    assert (top.doc_id, top.start) == (col.chunks.column("doc_id")[3].as_py(), col.chunks.column("start")[3].as_py())


@pytest.mark.parametrize(("bad", "error", "message"), [
    ("short", ragkit.InputError, "gave 2 rows for"),
    ("ints", ragkit.InputError, "dtype int64"),
    ("nan", ragkit.InputError, "NaN or infinity"),
    ("norm", ragkit.InputError, "L2 norm 2.0000"),
    ("dim", ragkit.DimensionMismatchError, "dimension 4"),
    ("1d", ragkit.InputError, "expected a 2-d float array"),
    ("missing", ragkit.InputError, "no vector for chunk id(s) 'a#0'"),
    ("text", ragkit.InputError, "must be an array"),
])
def test_bad_vectors_are_refused_with_a_clear_error(ids: list[str], bad: str, error: type, message: str) -> None:
    n = len(ids)
    given = {"short": _unit(2), "ints": np.ones((n, 8), dtype=np.int64), "nan": np.full((n, 8), np.nan, dtype=np.float32),
             "norm": _unit(n) * 2, "dim": _unit(n, dim=4), "1d": np.ones(n, dtype=np.float32), "missing": {},
             "text": "vectors"}[bad]
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        ragkit.build_collection(DOCS, chunker=_chunker(), embedder=HashEmbedder(dimension=8), vectors=given)


def test_vectors_without_a_vector_index_are_refused() -> None:
    with pytest.raises(ragkit.InputError, match="no vector index"):
        ragkit.build_collection(DOCS, chunker=_chunker(), indexes=[ragkit.BM25Index()], vectors=_unit(3))


def test_index_corpus_asks_for_the_vectors_of_each_shard(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(f'{{"id": "d{i}", "text": "cats and dogs number {i}"}}' for i in range(5)), encoding="utf-8")
    lookup = {f"d{i}#0": _unit(1, seed=i)[0] for i in range(5)}
    asked: list[list[str]] = []

    def vectors(chunk_ids: list[str]) -> np.ndarray:
        asked.append(list(chunk_ids))
        return np.stack([lookup[c] for c in chunk_ids])

    chunker = ragkit.RecursiveChunker(tokenizer="regex", max_tokens=20, overlap=2)
    index_corpus(corpus, tmp_path / "out", chunker=chunker, embedder=HashEmbedder(dimension=8), vectors=vectors,
                 shard_docs=2, progress=False)
    assert asked == [["d0#0", "d1#0"], ["d2#0", "d3#0"], ["d4#0"]]
    col = ragkit.Collection.open(tmp_path / "out")
    np.testing.assert_allclose(_stored(col), np.stack([lookup[c] for c in col.chunk_ids()]), atol=1e-6)
    with pytest.raises(ragkit.InputError, match="as an array needs the chunks in advance"):
        index_corpus(corpus, tmp_path / "o2", chunker=chunker, embedder=HashEmbedder(dimension=8), vectors=_unit(5))
    with pytest.raises(ragkit.DimensionMismatchError, match="dimension 8"):
        index_corpus(corpus, tmp_path / "o3", chunker=chunker, embedder=HashEmbedder(dimension=4), vectors=lookup,
                     progress=False)
    with pytest.raises(ragkit.ConfigError, match="vector index"):
        index_corpus(corpus, tmp_path / "o4", chunker=chunker, indexes=[ragkit.BM25Index()], vectors=lookup)
