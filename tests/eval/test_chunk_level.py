"""Chunk-level runs: chunk ids '<doc_id>#<position>' scored against chunk qrels."""

from __future__ import annotations

import ragkit
from ragkit.eval import BeirDataset, chunk_level_run, evaluate
from ragkit.eval.runs import chunk_ids
from ragkit.pipeline import evaluate_retriever, retrieve_run


def test_chunk_ids_and_run() -> None:
    assert chunk_ids(["a", "a", "b"], [0, 1, 0]).tolist() == ["a#0", "a#1", "b#0"]
    assert chunk_level_run(["q"], [["a#1", "a#0", "a#1"]], [[0.5, 0.4, 0.9]]) == {"q": {"a#1": 0.9, "a#0": 0.4}}


def test_evaluate_retriever_at_chunk_level(animal_collection: ragkit.Collection) -> None:
    retriever = ragkit.BM25Retriever(animal_collection)
    queries = {"q1": "cats purr", "q2": "snakes venomous"}
    run = retrieve_run(retriever, queries, depth=50, level="chunk")
    table = animal_collection.chunks
    valid = set(chunk_ids(table.column("doc_id").to_pylist(), table.column("position").to_pylist()).tolist())
    assert all(cid in valid for ranked in run.values() for cid in ranked)
    top = {qid: next(iter(ranked)) for qid, ranked in run.items()}
    qrels = {qid: {cid: 1} for qid, cid in top.items()}
    dataset = BeirDataset(name="animals", split="test", documents=[], queries=queries, qrels=qrels)
    result = evaluate_retriever(retriever, dataset, metrics=("mrr@10",), depth=50, level="chunk")
    assert result.means == {"mrr@10": 1.0}
    # at document level the same chunk ids are not document ids: nothing matches
    assert evaluate(retrieve_run(retriever, queries, depth=50), qrels, ["mrr@10"]).means == {"mrr@10": 0.0}
