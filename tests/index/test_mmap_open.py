"""Reopened indexes are memory-mapped (not read into memory) and stay correct when changed afterwards."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from ragkit import BM25Index, FaissIndex

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")


def mapped_files() -> set[str]:
    """Paths of the files this process has memory-mapped."""
    with open("/proc/self/maps") as fh:
        return {line.split(maxsplit=5)[5].strip() for line in fh if len(line.split(maxsplit=5)) == 6}


def unit_vectors(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((16, d))
    x = centers[rng.integers(0, 16, n)] + 0.4 * rng.standard_normal((n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def same(a: list, b: list) -> bool:
    return all(np.array_equal(x.rows, y.rows) and np.allclose(x.scores, y.scores, atol=1e-5) for x, y in zip(a, b, strict=True))


@linux_only
@pytest.mark.parametrize("factory", ["Flat", "HNSW16", "SQ8", "PQ8x4"])
def test_faiss_file_and_vectors_are_memory_mapped_on_open(factory: str, tmp_path: Path) -> None:
    x = unit_vectors(3000)
    built = FaissIndex(factory).build(x)
    built.save(tmp_path)
    allocated = pa.total_allocated_bytes()
    opened = FaissIndex.load(tmp_path, built.get_config())
    assert opened._mapped
    maps = mapped_files()
    assert str(tmp_path / "vectors.faiss") in maps
    assert str(tmp_path / "vectors.arrow") in maps
    # the exact vectors (3000 x 32 float32 = 384 kB) were not copied into Arrow's memory pool
    assert pa.total_allocated_bytes() - allocated < x.nbytes // 10
    queries = unit_vectors(20, seed=1)
    assert same(opened.search_rows(queries, 10), built.search_rows(queries, 10))


@pytest.mark.parametrize("factory", ["Flat", "HNSW16", "SQ8", "PQ8x4", "IVF16,Flat"])
def test_changes_after_a_mapped_open_match_the_same_changes_in_memory(factory: str, tmp_path: Path) -> None:
    x, extra = unit_vectors(3000), unit_vectors(50, seed=2)
    built = FaissIndex(factory).build(x)
    built.save(tmp_path)
    opened = FaissIndex.load(tmp_path, built.get_config())
    for index in (built, opened):
        index.add(extra)
        index.delete([0, 5, 3010])
        index.upsert([7, 8], extra[:2])
    assert not opened._mapped
    queries = unit_vectors(20, seed=3)
    assert same(opened.search_rows(queries, 10), built.search_rows(queries, 10))
    # the saved files were not touched by the changes made after opening
    again = FaissIndex.load(tmp_path, built.get_config())
    assert again.n_docs == 3000 and again.n_alive == 3000


def synthetic_texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(2000)])
    return [" ".join(words[np.minimum(rng.zipf(1.3, 40), 2000) - 1]) for _ in range(n)]


@linux_only
def test_bm25_files_are_memory_mapped_on_open(tmp_path: Path) -> None:
    built = BM25Index("lucene").build(synthetic_texts(4000, seed=0))
    built.save(tmp_path)
    postings_bytes = (tmp_path / "bm25_postings.arrow").stat().st_size
    allocated = pa.total_allocated_bytes()
    opened = BM25Index.load(tmp_path, built.get_config())
    assert pa.total_allocated_bytes() - allocated < postings_bytes // 10
    assert {str(tmp_path / name) for name in ("bm25_postings.arrow", "bm25_docs.arrow")} <= mapped_files()
    state = opened._require_state()
    assert not state.postings.rows.flags.writeable  # a view of the mapped file, not a copy
    queries = ["w1 w20 w300", "w7", "w1999 w5"]
    assert same(opened.search_rows(queries, 10), built.search_rows(queries, 10))


def test_bm25_changes_after_a_mapped_open_equal_a_fresh_build(tmp_path: Path) -> None:
    texts, extra = synthetic_texts(1500, seed=0), synthetic_texts(40, seed=1)
    built = BM25Index("lucene").build(texts)
    built.save(tmp_path)
    opened = BM25Index.load(tmp_path, built.get_config())
    opened.add(extra)
    opened.delete([3, 10, 1520])
    keep = [t for i, t in enumerate(texts + extra) if i not in (3, 10, 1520)]
    fresh = BM25Index("lucene").build(keep)
    queries = ["w1 w20 w300", "w7 w8", "w1999 w5 w2"]
    alive = np.flatnonzero(~np.isin(np.arange(len(texts) + len(extra)), [3, 10, 1520]))
    for got, want in zip(opened.search_rows(queries, 20), fresh.search_rows(queries, 20), strict=True):
        assert np.array_equal(got.rows, alive[want.rows])
        assert np.allclose(got.scores, want.scores, atol=1e-6)
