from __future__ import annotations

from pathlib import Path

import pytest

import ragkit
from ragkit import BM25Retriever, DenseRetriever, HybridRetriever, InputError
from ragkit.observe import ObservedRetriever, QueryLog, overlap_at_k, read_log, replay

QUERIES = ["cats purr", "dogs bark at strangers", "fish gills", "birds nests", "venomous snakes", "horse sleep"]


def _log(collection: ragkit.Collection, tmp_path: Path, retriever: object, filters: dict | None = None) -> object:
    with QueryLog(tmp_path / "log") as log:
        observed = ObservedRetriever(retriever, query_log=log)
        observed.search_batch(QUERIES, k=5, filters=filters)
        observed.search_batch(QUERIES[:2], k=5, filters=filters)  # repeats: replayed once
    return read_log(tmp_path / "log")


def test_overlap_at_k() -> None:
    assert overlap_at_k(["a", "b", "c"], ["c", "b", "a"], 3) == 1.0
    assert overlap_at_k(["a", "b"], ["b", "x"], 2) == 0.5
    assert overlap_at_k([], [], 10) == 1.0
    assert overlap_at_k(["a"], [], 10) == 0.0
    assert overlap_at_k(["a", "b", "c", "d"], ["a", "b", "x", "y"], 2) == 1.0


def test_replay_against_the_same_version_is_identical(animal_collection: ragkit.Collection, tmp_path: Path) -> None:
    table = _log(animal_collection, tmp_path, HybridRetriever(animal_collection))
    assert table.num_rows == 8
    result = replay(table, HybridRetriever(animal_collection), k=5)
    assert result["queries"] == 6
    assert result["mean_overlap"] == 1.0 and result["top1_same"] == 1.0 and result["same_set"] == 1.0


def test_replay_against_another_version_matches_an_oracle(animal_collection: ragkit.Collection, tmp_path: Path) -> None:
    table = _log(animal_collection, tmp_path, BM25Retriever(animal_collection))
    new = DenseRetriever(animal_collection)
    result = replay(table, new, k=3, key="row")
    logged = {q: rows for q, rows in zip(table.column("query").to_pylist(), table.column("rows").to_pylist(), strict=True)}
    want = {q: overlap_at_k(logged[q][:3], [h.chunk_row for h in new.search(q, k=3)], 3) for q in QUERIES}
    per_query = result["per_query"].to_pylist()
    assert {r["query"]: r["overlap"] for r in per_query} == pytest.approx(want)
    assert result["mean_overlap"] == pytest.approx(sum(want.values()) / len(want))
    assert [r["overlap"] for r in per_query] == sorted(r["overlap"] for r in per_query)  # worst first
    assert result["mean_overlap"] < 1.0


def test_replay_reapplies_logged_filters(animal_collection: ragkit.Collection, tmp_path: Path) -> None:
    table = _log(animal_collection, tmp_path, HybridRetriever(animal_collection), filters={"kind": "mammal"})
    seen: list[object] = []

    class Spy:
        def search_batch(self, queries: list[str], k: int, filters: object = None) -> list[list[ragkit.Hit]]:
            seen.append(filters)
            return HybridRetriever(animal_collection).search_batch(queries, k=k, filters=filters)

    assert replay(table, Spy(), k=5)["mean_overlap"] == 1.0
    assert seen == [{"kind": "mammal"}]


def test_replay_refuses_bad_arguments(animal_collection: ragkit.Collection, tmp_path: Path) -> None:
    table = _log(animal_collection, tmp_path, BM25Retriever(animal_collection))
    with pytest.raises(InputError, match="'k'"):
        replay(table, BM25Retriever(animal_collection), k=0)
    with pytest.raises(ragkit.ConfigError, match="'key'"):
        replay(table, BM25Retriever(animal_collection), key="chunk")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="lacks columns"):
        replay(table.drop_columns(["doc_ids"]), BM25Retriever(animal_collection))
