"""Row ids given to ``delete``, ``upsert`` and ``row_vectors``: anything that is not integers raises InputError and changes
nothing (a float is not truncated to a row, a bool mask is not read as rows 0 and 1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ragkit
from ragkit import BM25Index, FaissIndex, InputError
from ragkit.core.rowsets import as_row_ids, check_row_ids
from ragkit.store.sharded import ShardedCollection
from ragkit.testing import HashEmbedder, synthetic_documents

BAD_ROWS: list[Any] = [
    ["a"],
    "1",
    None,
    object(),
    [1.5],
    np.array([1.0, 2.0]),
    np.array([True, False, True]),
    [2**70],
    [[1, 2], [3]],
    [1, None],
]
IDS = [repr(r)[:30] for r in BAD_ROWS]


def unit_vectors(n: int, d: int = 16, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("rows", BAD_ROWS, ids=IDS)
def test_as_row_ids_refuses_what_is_not_integers(rows: Any) -> None:
    with pytest.raises(InputError, match="Rows to delete must be integer row ids"):
        as_row_ids(rows, "delete")


@pytest.mark.parametrize(("rows", "expected"), [
    (3, [3]),
    ([], []),
    (np.array([[1, 2], [3, 4]], dtype=np.uint8), [1, 2, 3, 4]),
    (np.array([5, 0], dtype=np.int32), [5, 0]),
    ((np.int64(2), np.int64(7)), [2, 7]),
    (range(3), [0, 1, 2]),
])
def test_as_row_ids_takes_integers_of_any_type_and_shape(rows: Any, expected: list[int]) -> None:
    ids = as_row_ids(rows, "delete")
    assert ids.dtype == np.int64 and ids.ndim == 1 and ids.tolist() == expected


def test_check_row_ids_refuses_rows_outside_the_index_and_duplicates() -> None:
    assert check_row_ids([0, 4], 5, "delete").tolist() == [0, 4]
    with pytest.raises(InputError, match=r"Cannot delete row 5: the index has rows 0\.\.4"):
        check_row_ids([0, 5], 5, "delete")
    with pytest.raises(InputError, match="Cannot delete row -1"):
        check_row_ids([-1], 5, "delete")
    with pytest.raises(InputError, match="duplicates"):
        check_row_ids([1, 1], 5, "delete")
    assert check_row_ids([1, 1], 5, "read", unique=False).tolist() == [1, 1]


@pytest.mark.parametrize("rows", BAD_ROWS, ids=IDS)
def test_faiss_index_refuses_bad_row_ids_and_changes_nothing(rows: Any) -> None:
    x = unit_vectors(6)
    index = FaissIndex("Flat").build(x)
    before = index.search_rows(x[:2], 6)
    generation = index.generation
    with pytest.raises(InputError, match="must be integer row ids"):
        index.delete(rows)
    with pytest.raises(InputError, match="must be integer row ids"):
        index.upsert(rows, unit_vectors(1, seed=1))
    with pytest.raises(InputError, match="must be integer row ids"):
        index.row_vectors(rows)
    assert index.generation == generation and index.n_alive == 6
    after = index.search_rows(x[:2], 6)
    assert [c.rows.tolist() for c in after] == [c.rows.tolist() for c in before]
    assert np.array_equal(index.row_vectors(np.arange(6)), x)


@pytest.mark.parametrize("rows", BAD_ROWS, ids=IDS)
def test_bm25_index_refuses_bad_row_ids_and_changes_nothing(rows: Any) -> None:
    index = BM25Index().build(["cats and dogs", "dogs bark", "cats purr", "birds sing", "fish swim", "cats dogs birds"])
    before = index.search_rows(["cats dogs"], 6)
    generation = index.generation
    with pytest.raises(InputError, match="must be integer row ids"):
        index.delete(rows)
    assert index.generation == generation
    after = index.search_rows(["cats dogs"], 6)
    assert after[0].rows.tolist() == before[0].rows.tolist() and np.array_equal(after[0].scores, before[0].scores)


def test_valid_integer_rows_still_delete_and_upsert() -> None:
    x = unit_vectors(6)
    index = FaissIndex("Flat").build(x)
    index.delete(np.array([1], dtype=np.uint16))
    index.upsert((np.int32(2),), x[3:4])
    assert index.n_alive == 5 and np.array_equal(index.row_vectors(2), x[3:4])
    assert np.array_equal(index.row_vectors([0, 0]), x[[0, 0]])  # repeats are fine when reading
    bm25 = BM25Index().build(["cats and dogs", "dogs bark", "cats purr"])
    bm25.delete(np.array([[0]], dtype=np.int8))
    assert 0 not in bm25.search_rows(["cats"], 3)[0].rows.tolist()


def test_sharded_index_refuses_bad_row_ids(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": d.id, "text": d.text}) + "\n" for d in synthetic_documents(30)))
    out = tmp_path / "sharded"
    ragkit.index_corpus(ragkit.pipeline.JsonlSource(corpus), out, embedder=HashEmbedder(dimension=16),
                        indexes=[FaissIndex("Flat"), BM25Index()], shard_docs=10, keep_shards=True, progress=False)
    with ShardedCollection.open(out) as col:
        index = col.index("vector")
        for rows in ([0.5], np.array([True, False]), ["0"]):
            with pytest.raises(InputError, match="must be integer row ids"):
                index.row_vectors(rows)
        n = index.num_rows
        with pytest.raises(InputError, match=f"the index has rows 0..{n - 1}"):
            index.row_vectors([n])
        assert index.row_vectors([0, n - 1, 0]).shape == (3, 16)
