"""FaissIndex: exactness against brute force, filtered search, persistence, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ragkit import ConfigError, DimensionMismatchError, EmptyCorpusError, FaissIndex, InputError, NotBuiltError
from ragkit.core.deps import faiss_gpu_count


def unit_vectors(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((8, d))
    x = centers[rng.integers(0, 8, n)] + 0.5 * rng.standard_normal((n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return unit_vectors(3000), unit_vectors(40, seed=1)


def brute_force(x: np.ndarray, q: np.ndarray, k: int, rows: np.ndarray | None = None) -> np.ndarray:
    rows = np.arange(len(x)) if rows is None else rows
    scores = q @ x[rows].T
    return rows[np.argsort(-scores, axis=1, kind="stable")[:, :k]]


def test_flat_equals_brute_force(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, q = data
    index = FaissIndex("Flat").build(x)
    got = np.stack([c.rows for c in index.search_rows(q, k=10)])
    np.testing.assert_array_equal(got, brute_force(x, q, 10))
    c = index.search_rows(q[:1], k=3)[0]
    np.testing.assert_allclose(c.scores, (q[0] @ x[c.rows].T), rtol=1e-5)


@pytest.mark.parametrize(("factory", "kwargs"), [("HNSW32", {"ef_search": 128}), ("IVF32,Flat", {"nprobe": 8}),
                                                  ("IVF32,SQ8", {"nprobe": 8})])
def test_approximate_indexes_reach_high_recall(data: tuple[np.ndarray, np.ndarray], factory: str, kwargs: dict) -> None:
    x, q = data
    truth = brute_force(x, q, 10)
    got = [c.rows for c in FaissIndex(factory, **kwargs).build(x).search_rows(q, k=10)]
    recall = np.mean([len(set(g) & set(t)) / 10 for g, t in zip(got, truth, strict=True)])
    assert recall >= 0.9, f"{factory} recall@10 {recall:.3f}"


@pytest.mark.parametrize("factory", ["Flat", "HNSW32", "IVF32,Flat"])
@pytest.mark.parametrize("fraction", [0.001, 0.02, 0.5])
def test_filtered_search_returns_only_allowed_rows_and_k_of_them(
    data: tuple[np.ndarray, np.ndarray], factory: str, fraction: float
) -> None:
    x, q = data
    rng = np.random.default_rng(3)
    allowed = rng.random(len(x)) < fraction
    n_allowed = int(allowed.sum())
    index = FaissIndex(factory).build(x)
    for cands in index.search_rows(q, k=10, allowed=allowed):
        assert len(cands) == min(10, n_allowed)
        assert allowed[cands.rows].all()
        assert np.all(np.diff(cands.scores) <= 1e-6)


def test_exact_filtered_search_equals_brute_force(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, q = data
    allowed = np.zeros(len(x), dtype=bool)
    allowed[::50] = True
    index = FaissIndex("HNSW32").build(x)
    got = np.stack([c.rows for c in index.search_rows(q, k=5, allowed=allowed)])
    np.testing.assert_array_equal(got, brute_force(x, q, 5, np.flatnonzero(allowed)))


def test_filter_allowing_nothing_gives_no_hits(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, q = data
    result = FaissIndex("Flat").build(x).search_rows(q[:2], k=5, allowed=np.zeros(len(x), dtype=bool))
    assert [len(c) for c in result] == [0, 0]


def test_k_larger_than_index_returns_everything() -> None:
    x = unit_vectors(7)
    assert len(FaissIndex("Flat").build(x).search_rows(x[:1], k=50)[0]) == 7


@pytest.mark.parametrize("factory", ["Flat", "HNSW32", "IVF16,Flat"])
def test_save_and_load_give_identical_results(tmp_path: Path, data: tuple[np.ndarray, np.ndarray], factory: str) -> None:
    x, q = data
    index = FaissIndex(factory, nprobe=4 if "IVF" in factory else None).build(x)
    index.save(tmp_path)
    loaded = FaissIndex.load(tmp_path, index.get_config())
    for a, b in zip(index.search_rows(q, k=10), loaded.search_rows(q, k=10), strict=True):
        np.testing.assert_array_equal(a.rows, b.rows)
        np.testing.assert_allclose(a.scores, b.scores)


def test_bad_vectors_raise_clear_errors(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, _ = data
    bad = x[:10].copy()
    bad[3, 0] = np.nan
    with pytest.raises(InputError, match="row 3 holds NaN"):
        FaissIndex().build(bad)
    bad[3, 0] = np.inf
    with pytest.raises(InputError, match="NaN or infinity"):
        FaissIndex().build(bad)
    with pytest.raises(InputError, match="unit-length"):
        FaissIndex().build(x[:10] * 3)
    with pytest.raises(InputError, match="2-d float array"):
        FaissIndex().build(np.ones(5, dtype=np.float32))
    with pytest.raises(EmptyCorpusError):
        FaissIndex().build(np.empty((0, 8), dtype=np.float32))
    index = FaissIndex().build(x)
    with pytest.raises(DimensionMismatchError, match="dimension 16 but the index holds dimension 32"):
        index.search_rows(unit_vectors(2, d=16), k=3)
    with pytest.raises(InputError, match="'k' parameter"):
        index.search_rows(x[:1], k=0)


@pytest.mark.parametrize("change", ["nan", "inf", "long", "short", "dimension"])
def test_one_bad_query_row_raises_like_a_batch(data: tuple[np.ndarray, np.ndarray], change: str) -> None:
    """A single float32 query (the latency path) is checked as a batch row is."""
    x, _ = data
    index = FaissIndex().build(x)
    q = x[:1].copy()
    if change == "nan":
        q[0, 5] = np.nan
    elif change == "inf":
        q[0, 5] = np.inf
    elif change == "long":
        q *= np.float32(1.01)
    elif change == "short":
        q *= np.float32(0.99)
    else:
        q = unit_vectors(1, d=16)
    error = DimensionMismatchError if change == "dimension" else InputError
    with pytest.raises(error):
        index.search_rows(q, k=3)
    for accepted in (x[:1].astype(np.float64), np.asfortranarray(x[:1]), x[:2][::2], x[:1] * np.float32(1.0005)):
        (found,) = index.search_rows(accepted, k=3)
        assert found.rows[0] == 0


def test_bad_configuration_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="not a valid FAISS factory string"):
        FaissIndex("NotAnIndex").build(unit_vectors(10))
    with pytest.raises(ConfigError, match="'nprobe' parameter of FaissIndex must be an int >= 1. Got 0"):
        FaissIndex("IVF4,Flat", nprobe=0)
    with pytest.raises(ConfigError, match="IDMap"):
        FaissIndex("IDMap,Flat")
    with pytest.raises(InputError, match="4096 IVF lists but only 100 vectors"):
        FaissIndex("IVF4096,Flat").build(unit_vectors(100))
    with pytest.raises(NotBuiltError):
        FaissIndex().search_rows(unit_vectors(1), k=1)


@pytest.mark.parametrize(("factory", "message"), [
    ("HNSW0", "size of 0"), ("PQ8x0", "size of 0"), ("IVF4,PQ8x0", "size of 0"), ("IVF0,Flat", "size of 0"),
    ("BIVF0", "size of 0"), ("OPQ8_0,PQ8", "size of 0"), ("RQ4x0", "size of 0"), ("IVF2_HNSW0,Flat", "size of 0"),
    ("HNSW1", "HNSW graph degree must be at least 2"), ("BHNSW1", "HNSW graph degree must be at least 2"),
    ("NSG4", "NSG graph degree must be at least 8"),
])
def test_factory_sizes_that_would_crash_faiss_are_refused_at_construction(factory: str, message: str) -> None:
    # each of these builds with FAISS itself and then aborts, segfaults or never finishes: refused before FAISS sees it
    with pytest.raises(ConfigError, match=message):
        FaissIndex(factory)


def test_faiss_refusing_vectors_on_add_is_an_input_error() -> None:
    with pytest.raises(InputError, match="could not add 50 vectors"):  # NSG builds its graph from more than 100
        FaissIndex("NSG32").build(unit_vectors(50))
    assert FaissIndex("HNSW2").build(unit_vectors(50)).search_rows(unit_vectors(1), k=3)[0].rows.shape == (3,)


@pytest.mark.skipif(faiss_gpu_count() > 0, reason="checks the CPU-only behaviour")
def test_gpu_request_without_gpu_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="sees no GPU"):
        FaissIndex(device="gpu").build(unit_vectors(10))


@pytest.mark.gpu
@pytest.mark.skipif(faiss_gpu_count() == 0, reason="no GPU visible to FAISS")
def test_gpu_search_matches_cpu(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, q = data
    gpu = FaissIndex("Flat", device="gpu").build(x)
    cpu = FaissIndex("Flat", device="cpu").build(x)
    assert gpu.on_gpu and not cpu.on_gpu
    for a, b in zip(gpu.search_rows(q, k=10), cpu.search_rows(q, k=10), strict=True):
        np.testing.assert_array_equal(a.rows, b.rows)


def test_quantizer_without_enough_training_vectors_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="could not be trained on 100 vectors"):
        FaissIndex("PQ8").build(unit_vectors(100))


def test_faiss_index_is_the_index_searched(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, queries = data
    assert FaissIndex().faiss_index is None
    index = FaissIndex("HNSW16", ef_search=24).build(x)
    raw = index.faiss_index
    assert raw.ntotal == x.shape[0]
    scores, slots = raw.search(np.ascontiguousarray(queries[:5], dtype=np.float32), 4)
    for found, s, line in zip(index.search_rows(queries[:5], 4), scores, slots, strict=True):
        np.testing.assert_array_equal(found.rows, line)
        np.testing.assert_allclose(found.scores, s, rtol=1e-6)
