"""FAISS on the GPU: CPU/GPU parity (Flat, IVF-Flat, IVF-PQ), tune(), placement modes, float16, live updates.

Skipped without a GPU visible to FAISS (``bash scripts/gpu_check.sh`` runs them on a GPU machine).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ragkit import FaissIndex
from ragkit.core.deps import faiss_gpu_count

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(faiss_gpu_count() == 0, reason="no GPU visible to FAISS")]

K = 10


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    centers = rng.standard_normal((40, 64)).astype(np.float32)
    x = centers[rng.integers(0, 40, 4000)] + 0.5 * rng.standard_normal((4000, 64), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[rng.choice(4000, 50, replace=False)] + 0.1 * rng.standard_normal((50, 64), dtype=np.float32)
    return x, q / np.linalg.norm(q, axis=1, keepdims=True)


def rows(index: FaissIndex, q: np.ndarray) -> np.ndarray:
    return np.stack([c.rows for c in index.search_rows(q, K)])


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([np.intersect1d(x, y).size / K for x, y in zip(a, b, strict=True)]))


@pytest.mark.parametrize(("factory", "least"), [("Flat", 1.0), ("IVF64,Flat", 0.99), ("IVF64,PQ16", 0.95)])
def test_gpu_results_match_cpu(data: tuple[np.ndarray, np.ndarray], factory: str, least: float) -> None:
    x, q = data
    gpu = FaissIndex(factory, nprobe=16, device="gpu").build(x)
    cpu = FaissIndex(factory, nprobe=16, device="cpu").build(x)
    assert gpu.on_gpu and not cpu.on_gpu
    assert overlap(rows(gpu, q), rows(cpu, q)) >= least
    top_gpu = np.array([c.scores[0] for c in gpu.search_rows(q, K)])
    top_cpu = np.array([c.scores[0] for c in cpu.search_rows(q, K)])
    np.testing.assert_allclose(top_gpu, top_cpu, atol=1e-4)  # exact (re-scored) scores of the best hit


def test_tune_on_gpu_meets_its_target(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, q = data
    index = FaissIndex("IVF64,Flat", device="gpu").build(x)
    result = index.tune(target_recall=0.95, k=K, queries=q)
    assert index.on_gpu and result.parameter == "nprobe" and result.met and result.chosen is not None
    truth = rows(FaissIndex("Flat", device="cpu").build(x), q)
    assert overlap(rows(index, q), truth) >= 0.95  # the GPU copy searches at the chosen nprobe


@pytest.mark.parametrize("mode", ["replicate", "shard"])
def test_placement_modes_give_exact_results(data: tuple[np.ndarray, np.ndarray], mode: str) -> None:
    x, q = data
    index = FaissIndex("Flat", device="gpu", gpu_mode=mode).build(x)
    assert index.on_gpu
    np.testing.assert_array_equal(rows(index, q)[:, 0], rows(FaissIndex("Flat", device="cpu").build(x), q)[:, 0])


def test_float16_storage_keeps_recall(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, q = data
    index = FaissIndex("Flat", device="gpu", gpu_float16=True).build(x)
    assert index.on_gpu
    assert overlap(rows(index, q), rows(FaissIndex("Flat", device="cpu").build(x), q)) >= 0.95


def test_updates_on_gpu_then_reopen_on_cpu(data: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    x, q = data
    index = FaissIndex("IVF64,Flat", nprobe=64, device="gpu").build(x[:3000])  # nprobe = nlist: exhaustive
    np.testing.assert_array_equal(index.add(x[3000:]), np.arange(3000, 4000))
    index.delete([0, 1, 2])
    index.upsert([5], x[[3500]])
    assert index.on_gpu and index.n_alive == 3997
    probe = x[[0, 3500, 10]]
    found = rows(index, probe)
    assert not np.isin(found, [0, 1, 2]).any()
    assert set(found[1, :2]) == {5, 3500} and found[2, 0] == 10
    index.save(tmp_path)
    config = {**index.get_config(), "device": "cpu"}
    reopened = FaissIndex.load(tmp_path, config)
    assert not reopened.on_gpu and reopened.n_alive == 3997
    np.testing.assert_array_equal(rows(reopened, q)[:, :3], rows(index, q)[:, :3])
