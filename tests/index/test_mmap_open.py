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
    # flat and HNSW-flat indexes hold the exact vectors themselves: viewed in the mapped index, not stored twice
    holds_vectors = factory in ("Flat", "HNSW16")
    assert (tmp_path / "vectors.arrow").exists() is not holds_vectors
    assert holds_vectors or str(tmp_path / "vectors.arrow") in maps
    assert np.array_equal(opened.row_vectors(np.arange(3000)), x)
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


@pytest.mark.parametrize("factory", ["Flat", "HNSW16"])
def test_exact_vectors_are_stored_once_until_the_slots_stop_matching_the_rows(factory: str, tmp_path: Path) -> None:
    x, extra = unit_vectors(500), unit_vectors(20, seed=3)
    index = FaissIndex(factory, ef_search=64).build(x)
    index.add(extra)
    index.delete([1, 7])  # deleted rows keep their slot: the index still holds every row's vector
    (tmp_path / "once").mkdir()
    (tmp_path / "twice").mkdir()
    index.save(tmp_path / "once")
    assert not (tmp_path / "once" / "vectors.arrow").exists()
    index.upsert([3], unit_vectors(1, seed=4))  # row 3 moves to a new slot: its old one holds a stale vector
    index.save(tmp_path / "twice")
    assert (tmp_path / "twice" / "vectors.arrow").exists()
    queries = unit_vectors(15, seed=5)
    for folder in ("once", "twice"):
        opened = FaissIndex.load(tmp_path / folder, index.get_config())
        expected = np.concatenate([x, extra])
        if folder == "twice":
            expected[3] = unit_vectors(1, seed=4)[0]
        assert np.array_equal(opened.row_vectors(np.arange(520)), expected)
        # a change after open copies the viewed vectors first; the results match brute force over the live rows
        opened.upsert([0], unit_vectors(1, seed=6))
        expected[0] = unit_vectors(1, seed=6)[0]
        if folder == "once":
            opened.compact()
        else:
            opened.add(unit_vectors(2, seed=7))
            expected = np.concatenate([expected, unit_vectors(2, seed=7)])
        live = np.setdiff1d(np.arange(expected.shape[0]), [1, 7])
        exact = live[np.argsort(-(queries @ expected[live].T), axis=1, kind="stable")[:, :10]]
        assert [c.rows.tolist() for c in opened.search_rows(queries, 10)] == exact.tolist()


def test_a_saved_index_claiming_to_hold_vectors_it_cannot_hold_is_refused(tmp_path: Path) -> None:
    import json

    from ragkit import CorruptIndexError

    index = FaissIndex("SQ8").build(unit_vectors(300))
    index.save(tmp_path)
    meta_path = tmp_path / "faiss_meta.json"
    meta = json.loads(meta_path.read_text())
    assert meta["vectors"] == "vectors.arrow"
    for claim, message in (("index", "does not"), ("elsewhere", "'vectors' must be")):
        meta_path.write_text(json.dumps({**meta, "vectors": claim}))
        with pytest.raises(CorruptIndexError, match=message):
            FaissIndex.load(tmp_path, index.get_config())
    del meta["vectors"]  # saved before the entry existed: the vectors file is read
    meta_path.write_text(json.dumps(meta))
    assert FaissIndex.load(tmp_path, index.get_config()).n_alive == 300
