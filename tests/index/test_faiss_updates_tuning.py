"""FaissIndex: automatic choice, row updates on every type, recall tuning, reopen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ragkit import ConfigError, FaissIndex, InputError
from ragkit.index.vector import choose_factory

FACTORIES = ["Flat", "HNSW32", "IVF32,Flat", "IVF32,SQ8", "IVF16,PQ8", "BFlat"]


def clustered(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((20, d))
    x = centers[rng.integers(0, 20, n)] + 0.5 * rng.standard_normal((n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize(
    ("n", "budget", "expected"),
    [(5_000, None, "Flat"), (200_000, None, "HNSW32"), (2_000_000, None, "IVF8192_HNSW32,Flat"),
     (2_000_000, 1 << 30, "IVF8192_HNSW32,SQ8"), (2_000_000, 200 << 20, "IVF8192_HNSW32,PQ64")],
)
def test_automatic_choice_follows_the_faiss_guidelines(n: int, budget: int | None, expected: str) -> None:
    choice = choose_factory(n, 384, budget)
    assert choice.factory == expected
    assert budget is None or choice.bytes <= budget


def test_impossible_budget_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot hold"):
        choose_factory(2_000_000, 384, memory_budget=1 << 20)


@pytest.mark.parametrize("factory", FACTORIES)
def test_add_delete_upsert_on_every_index_type(factory: str, tmp_path: Path) -> None:
    x = clustered(3000)
    index = FaissIndex(factory).build(x)
    new = index.add(clustered(5, seed=9))
    assert new.tolist() == list(range(3000, 3005))
    index.delete([0, 1])
    replacement = clustered(1, seed=7)
    index.upsert([2], replacement)
    for c in index.search_rows(x[:20], k=10):
        assert not {0, 1} & set(c.rows.tolist())
    assert index.search_rows(replacement, k=1)[0].rows.tolist() == [2]
    index.save(tmp_path)
    loaded = FaissIndex.load(tmp_path, index.get_config())
    assert (loaded.n_docs, loaded.n_alive) == (3005, 3003)
    assert loaded.search_rows(replacement, k=1)[0].rows.tolist() == [2]
    loaded.delete(list(range(3, 2000)))  # triggers compaction
    assert loaded.ntotal == loaded.n_alive == 1006
    assert all(r >= 2000 or r == 2 for c in loaded.search_rows(x[:5], k=5) for r in c.rows.tolist())


@pytest.mark.parametrize("factory", ["Flat", "HNSW32"])
def test_upsert_without_deletes_still_fills_k_with_the_exact_top_rows(factory: str, tmp_path: Path) -> None:
    """An upsert leaves the row's old FAISS slot behind (dead) with nothing deleted: a search must still
    fill k with live rows, each once, in exact order (found by brute force over the final vectors)."""
    x = clustered(40)
    index = FaissIndex(factory, ef_search=64).build(x)
    replaced = clustered(8, seed=3)
    index.upsert(list(range(8)), replaced)
    final = x.copy()
    final[:8] = replaced
    queries = clustered(12, seed=5)
    exact = np.argsort(-(queries @ final.T), axis=1, kind="stable")
    for reopened in (index, FaissIndex.load(tmp_path, index.get_config()) if index.save(tmp_path) else None):
        assert reopened is not None
        for k in (10, 40):
            for query, found in zip(exact, reopened.search_rows(queries, k=k), strict=True):
                rows = found.rows.tolist()
                assert len(rows) == len(set(rows)) == k
                assert rows == query[:k].tolist()


def test_bad_updates_change_nothing() -> None:
    index = FaissIndex().build(clustered(100))
    with pytest.raises(InputError, match="Cannot delete row 100"):
        index.delete([100])
    index.delete([5])
    with pytest.raises(InputError, match="already deleted"):
        index.delete([5])
    with pytest.raises(InputError, match="2 rows but 1 vectors"):
        index.upsert([1, 2], clustered(1))
    assert index.n_alive == 99


def held_out_recall(index: FaissIndex, corpus: np.ndarray, queries: np.ndarray) -> tuple[float, list]:
    """Recall@10 of ``index`` on ``queries`` against exact search over ``corpus``, and its results."""
    exact = FaissIndex("Flat").build(corpus).search_rows(queries, k=10)
    found = index.search_rows(queries, k=10)
    recall = float(np.mean([len(set(a.rows) & set(b.rows)) / 10 for a, b in zip(found, exact, strict=True)]))
    return recall, found


@pytest.mark.parametrize("factory", ["IVF64,Flat", "HNSW16"])
def test_tune_meets_its_target_on_held_out_queries(factory: str, tmp_path: Path) -> None:
    x = clustered(6000)
    index = FaissIndex(factory).build(x[:5000])
    result = index.tune(target_recall=0.95, k=10, sample=200)
    assert result.met and result.chosen is not None
    # fresh queries the tuning never saw still reach the target against exact search
    queries = x[5000:5200]
    recall, found = held_out_recall(index, x[:5000], queries)
    assert recall >= 0.93
    index.save(tmp_path)
    reopened = FaissIndex.load(tmp_path, index.get_config())
    assert reopened.tuning_ == result
    # the tuned breadth is in force after reopening: same results as the tuned index
    for a, b in zip(reopened.search_rows(queries, k=10), found, strict=True):
        assert np.array_equal(a.rows, b.rows)
    if factory.startswith("HNSW"):
        import faiss

        assert faiss.downcast_index(reopened._index).hnsw.efSearch == result.chosen


def test_tune_widens_exact_rescoring_when_compressed_codes_plateau(tmp_path: Path) -> None:
    x = clustered(4000)
    index = FaissIndex("IVF8,PQ4x4").build(x[:3500])  # 2 bytes a vector: recall plateaus far below 0.95
    result = index.tune(target_recall=0.95, k=10, sample=150)
    assert result.met and result.rescore is not None and result.rescore > 4
    queries = x[3500:3700]
    recall, found = held_out_recall(index, x[:3500], queries)
    assert recall >= 0.92
    index.save(tmp_path)
    reopened = FaissIndex.load(tmp_path, index.get_config())
    assert reopened.tuning_ is not None and reopened.tuning_.rescore == result.rescore
    for a, b in zip(reopened.search_rows(queries, k=10), found, strict=True):
        assert np.array_equal(a.rows, b.rows)
