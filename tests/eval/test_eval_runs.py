"""doc_level_run: max-pooling chunk hits into a document run."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragkit.core.errors import InputError
from ragkit.eval import doc_level_run, evaluate


def test_best_chunk_per_document() -> None:
    run = doc_level_run(
        ["q1", "q2"],
        [["a", "b", "a", "c"], ["x"]],
        [[0.2, 0.5, 0.9, 0.5], [1.5]],
    )
    assert run == {"q1": {"a": 0.9, "b": 0.5, "c": 0.5}, "q2": {"x": 1.5}}
    assert list(run["q1"]) == ["a", "b", "c"]  # best document first
    assert all(isinstance(v, float) for v in run["q1"].values())


def test_numpy_inputs_and_empty_query() -> None:
    doc_ids = [np.array(["d1", "d2", "d1"], dtype=object), np.array([], dtype=object)]
    scores = [np.array([1.0, -np.inf, 3.0], dtype=np.float32), np.array([], dtype=np.float64)]
    run = doc_level_run(["q1", "q2"], doc_ids, scores)
    assert run == {"q1": {"d1": 3.0, "d2": -math.inf}, "q2": {}}
    assert all(type(d) is str for d in run["q1"])


def test_feeds_evaluate() -> None:
    run = doc_level_run(["q"], [["b", "a", "b"]], [[0.4, 0.3, 0.8]])
    assert evaluate(run, {"q": {"a": 1}}, ("mrr@10",)).means == {"mrr@10": 0.5}


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.tuples(st.sampled_from("abcde"), st.floats(allow_nan=False, width=32)), max_size=20))
def test_matches_a_python_max(hits: list[tuple[str, float]]) -> None:
    expected: dict[str, float] = {}
    for doc_id, score in hits:
        expected[doc_id] = max(score, expected.get(doc_id, -math.inf))
    run = doc_level_run(["q"], [[d for d, _ in hits]], [[s for _, s in hits]])
    assert run == {"q": expected}


@pytest.mark.parametrize(
    ("query_ids", "doc_ids", "scores", "match"),
    [
        (["q1", "q2"], [["a"]], [[1.0]], "one entry per query"),
        (["q1"], [["a"], ["b"]], [[1.0]], "one entry per query"),
        (["q1", "q1"], [["a"], ["b"]], [[1.0], [2.0]], "appears more than once"),
        ([1], [["a"]], [[1.0]], "Query ids must be strings"),
        (["q1"], [["a", "b"]], [[1.0]], "give one score per chunk hit"),
        (["q1"], [["a"]], [[[1.0]]], "give one score per chunk hit"),
        (["q1"], [["a", 3]], [[1.0, 2.0]], "doc ids must be strings"),
        (["q1"], [["a"]], [[float("nan")]], "NaN"),
        (["q1"], [["a"]], [["high"]], "scores must be real numbers"),
    ],
)
def test_bad_inputs(query_ids, doc_ids, scores, match: str) -> None:
    with pytest.raises(InputError, match=match):
        doc_level_run(query_ids, doc_ids, scores)
