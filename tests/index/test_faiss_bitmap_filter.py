"""FaissIndex's broad-filter path: FAISS searched through an ``IDSelectorBitmap`` over the allowed slots.

A filter allowing more than ``EXACT_FILTER_ROWS`` rows is not answered by exact search
over the allowed rows but by FAISS with a bitmap selector (topped up exactly when it comes
back short). Every test here checks that this branch really ran.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ragkit import FaissIndex
from ragkit.index.vector import engine as engine_module
from ragkit.index.vector import faiss as faiss_module
from ragkit.index.vector.faiss import EXACT_FILTER_ROWS

N_ROWS = EXACT_FILTER_ROWS + 5_000  # a 90% filter keeps more rows than the exact-search threshold
K = 10


def unit_vectors(n: int, d: int = 16, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, q = unit_vectors(N_ROWS), unit_vectors(30, seed=1)
    allowed = np.random.default_rng(2).random(N_ROWS) < 0.9
    assert allowed.sum() > EXACT_FILTER_ROWS
    return x, q, allowed


@pytest.fixture(scope="module")
def built(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> dict[str, FaissIndex]:
    x = data[0]
    return {
        "Flat": FaissIndex("Flat", device="cpu").build(x),
        "HNSW32": FaissIndex("HNSW32", ef_search=64, device="cpu").build(x),
        "IVF64,Flat": FaissIndex("IVF64,Flat", nprobe=16, device="cpu").build(x),
    }


class Spy:
    """Counts the calls of the bitmap search and of the exact top-up (``ragkit.index.vector.engine``, as FaissIndex calls them)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bitmap_calls: list[int] = []  # allowed slots of each bitmap search
        self.exact_calls = 0
        bitmap_search, exact_search = engine_module.bitmap_search, engine_module.exact_search

        def spy_bitmap(faiss: Any, index: Any, queries: np.ndarray, fetch: int, slot_ok: np.ndarray) -> Any:
            self.bitmap_calls.append(int(slot_ok.sum()))
            return bitmap_search(faiss, index, queries, fetch, slot_ok)

        def spy_exact(*args: Any, **kwargs: Any) -> Any:
            self.exact_calls += 1
            return exact_search(*args, **kwargs)

        monkeypatch.setattr(engine_module, "bitmap_search", spy_bitmap)
        monkeypatch.setattr(engine_module, "exact_search", spy_exact)


def brute_force(x: np.ndarray, q: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows = np.flatnonzero(allowed)
    scores = q @ x[rows].T
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return rows[order], np.take_along_axis(scores, order, axis=1)


def test_flat_bitmap_search_equals_brute_force_over_the_allowed_rows(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], built: dict[str, FaissIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    x, q, allowed = data
    spy = Spy(monkeypatch)
    got = built["Flat"].search_rows(q, k=K, allowed=allowed)
    assert spy.bitmap_calls == [int(allowed.sum())]  # the bitmap branch ran, with the allowed slots
    assert spy.exact_calls == 0  # and answered alone: no exact top-up
    rows, scores = brute_force(x, q, K, allowed)
    np.testing.assert_array_equal(np.stack([c.rows for c in got]), rows)
    np.testing.assert_allclose(np.stack([c.scores for c in got]), scores, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("factory", ["HNSW32", "IVF64,Flat"])
def test_approximate_bitmap_search_returns_k_allowed_rows_with_high_recall(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], built: dict[str, FaissIndex], monkeypatch: pytest.MonkeyPatch,
    factory: str,
) -> None:
    x, q, allowed = data
    spy = Spy(monkeypatch)
    got = built[factory].search_rows(q, k=K, allowed=allowed)
    assert spy.bitmap_calls == [int(allowed.sum())]
    assert spy.exact_calls == 0  # FAISS filled k on its own: nothing below comes from the exact top-up
    truth, _ = brute_force(x, q, K, allowed)
    for query, cands in zip(q, got, strict=True):
        assert len(cands) == K  # k rows whenever k rows are allowed
        assert np.unique(cands.rows).size == K
        assert allowed[cands.rows].all()
        np.testing.assert_allclose(cands.scores, x[cands.rows] @ query, rtol=1e-5, atol=1e-5)
        assert np.all(np.diff(cands.scores) <= 1e-6)
    recall = np.mean([np.intersect1d(c.rows, t).size / K for c, t in zip(got, truth, strict=True)])
    assert recall >= 0.9, f"{factory} filtered recall@{K} {recall:.3f}"


@pytest.mark.parametrize("factory", ["Flat", "HNSW32", "IVF8,Flat"])
def test_bitmap_search_skips_deleted_and_replaced_slots(monkeypatch: pytest.MonkeyPatch, factory: str) -> None:
    """With the threshold lowered, a small index takes the bitmap branch too: after deletes and
    upserts (dead FAISS slots, rows moved to new slots) it still returns only live, allowed rows."""
    monkeypatch.setattr(faiss_module, "EXACT_FILTER_ROWS", 0)
    x = unit_vectors(2_000, seed=5)
    index = FaissIndex(factory, ef_search=128 if "HNSW" in factory else None,
                       nprobe=8 if "IVF" in factory else None, device="cpu").build(x)
    rng = np.random.default_rng(6)
    deleted = rng.choice(2_000, size=150, replace=False)
    index.delete(deleted)
    moved = np.setdiff1d(rng.choice(2_000, size=100, replace=False), deleted)
    new_vectors = unit_vectors(moved.size, seed=7)
    index.upsert(moved, new_vectors)
    current = x.copy()
    current[moved] = new_vectors
    assert index.ntotal > index.n_alive  # dead slots remain (not compacted)
    live = np.ones(2_000, dtype=bool)
    live[deleted] = False
    allowed = rng.random(2_000) < 0.7
    queries = np.concatenate([unit_vectors(10, seed=8), new_vectors[:5]])
    spy = Spy(monkeypatch)
    got = index.search_rows(queries, k=K, allowed=allowed)
    assert spy.bitmap_calls == [int((allowed & live).sum())]
    truth, _ = brute_force(current, queries, K, allowed & live)
    for query, cands in zip(queries, got, strict=True):
        assert len(cands) == K and (allowed & live)[cands.rows].all()
        np.testing.assert_allclose(cands.scores, current[cands.rows] @ query, rtol=1e-5, atol=1e-5)
    assert spy.exact_calls == 0
    if factory == "Flat":
        np.testing.assert_array_equal(np.stack([c.rows for c in got]), truth)
    else:
        recall = np.mean([np.intersect1d(c.rows, t).size / K for c, t in zip(got, truth, strict=True)])
        assert recall >= 0.9, f"{factory} filtered recall@{K} after updates {recall:.3f}"


def test_below_the_threshold_the_bitmap_branch_is_not_used(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], built: dict[str, FaissIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    x, q, _ = data
    narrow = np.zeros(N_ROWS, dtype=bool)
    narrow[: EXACT_FILTER_ROWS] = True
    spy = Spy(monkeypatch)
    got = built["HNSW32"].search_rows(q, k=K, allowed=narrow)
    assert spy.bitmap_calls == [] and spy.exact_calls == 1
    np.testing.assert_array_equal(np.stack([c.rows for c in got]), brute_force(x, q, K, narrow)[0])


def test_a_short_bitmap_search_is_topped_up_by_exact_search(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One probed list of 64 holds far fewer than k allowed rows: FAISS comes back short and
    those queries are answered by exact search over the allowed rows instead."""
    x, q, allowed = data
    index = FaissIndex("IVF64,Flat", nprobe=1, device="cpu").build(x)
    k = 1_000
    spy = Spy(monkeypatch)
    got = index.search_rows(q[:5], k=k, allowed=allowed)
    assert len(spy.bitmap_calls) == 1 and spy.exact_calls == 1
    rows, scores = brute_force(x, q[:5], k, allowed)
    np.testing.assert_array_equal(np.stack([c.rows for c in got]), rows)
    np.testing.assert_allclose(np.stack([c.scores for c in got]), scores, rtol=1e-5, atol=1e-6)
