"""Bad input to runs and metrics raises the ragkit error naming it: a bare string is never read as
characters, a score is a real number (not a bool, a str to parse, a complex or None), and a
metric name is ASCII ``<kind>@<k>`` with a 64-bit k, nothing after it."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from ragkit import ConfigError, InputError, RagkitError
from ragkit.eval import chunk_level_run, doc_level_run, evaluate
from ragkit.eval.runs import chunk_ids

QRELS = {"q": {"d": 1}}


def raises(error: type[RagkitError], call: Any, match: str) -> RagkitError:
    with pytest.raises(RagkitError, match=match) as info:
        call()
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"
    return info.value


# -- hole 1: strings iterated as characters, generators and None -------------------------------------------------


@pytest.mark.parametrize(
    ("query_ids", "doc_ids", "scores", "match"),
    [
        (["q1"], ["abc"], [[1, 2, 3]], r"sequence of doc ids as doc_ids_per_query\[0\] \(query 'q1'\), not a bare string"),
        ("q1", [["a"], ["b"]], [[1], [2]], "sequence of query ids as 'query_ids', not a bare string. Got 'q1'"),
        (["q1"], "a", [[1]], "as 'doc_ids_per_query', not a bare string"),
        (["q1"], [["a"]], "1", "as 'scores_per_query', not a bare string"),
        (["q1"], [["a"]], ["1"], r"scores_per_query\[0\] \(query 'q1'\), not a bare string"),
        (b"q1", [["a"]], [[1]], "not a bare string"),
        (None, [], [], "takes a sequence of query ids as 'query_ids'. Got None"),
        (["q1"], None, [[1]], "as 'doc_ids_per_query'. Got None"),
        (["q1"], [["a"]], None, "as 'scores_per_query'. Got None"),
        (["q1"], [None], [[1]], r"doc_ids_per_query\[0\] \(query 'q1'\). Got None"),
        (["q1"], [["a"]], [None], r"scores_per_query\[0\] \(query 'q1'\). Got None"),
        (["q1"], [["a"]], [3.0], r"scores_per_query\[0\] \(query 'q1'\). Got 3.0"),
        ({"q1"}, [["a"]], [[1]], "in order, not a set"),
    ],
)
def test_doc_level_run_refuses_strings_none_and_sets_where_sequences_belong(query_ids, doc_ids, scores, match) -> None:
    raises(InputError, lambda: doc_level_run(query_ids, doc_ids, scores), match)


def test_chunk_level_run_names_its_own_parameters() -> None:
    raises(InputError, lambda: chunk_level_run(["q1"], ["a#0"], [[1.0]]), r"chunk_level_run takes a sequence of chunk ids as chunk_ids_per_query\[0\]")  # noqa: E501
    raises(InputError, lambda: chunk_level_run(["q1"], [["a#0", 2]], [[1.0, 2.0]]), "chunk ids must be strings")


def test_generators_are_read_once_like_lists() -> None:
    run = doc_level_run((q for q in ["q1", "q2"]), iter([iter(["a", "b", "a"]), iter([])]), (s for s in [iter([0.2, 0.5, 0.9]), []]))
    assert run == {"q1": {"a": 0.9, "b": 0.5}, "q2": {}}
    assert doc_level_run(("q1",), (np.array(["a", "b"], dtype=object),), (np.array([1, 2], dtype=np.int32),)) == {"q1": {"b": 2.0, "a": 1.0}}  # noqa: E501


@pytest.mark.parametrize(
    ("doc_ids", "positions", "match"),
    [
        ("ab", [0, 1], "chunk_ids takes a sequence of doc ids .str. as 'doc_ids', not a bare string. Got 'ab'"),
        (["a", "b"], "01", "as 'positions', not a bare string"),
        (None, [0], "as 'doc_ids'. Got None"),
        (["a"], [0, 1], "one position per doc id. Got 1 doc ids and 2 positions"),
        (["a", "b"], np.array([0]), "Got 2 doc ids and 1 positions"),
        ([1], [0], "'doc_ids' parameter of chunk_ids must hold strings. Got 1 .int."),
        (["a"], [True], "must hold ints .not bools or floats.. Got True"),
        (["a"], [0.5], "must hold ints .not bools or floats.. Got 0.5"),
        (["a"], np.array([1.0]), "must hold ints"),
        (np.array([["a"]], dtype=object), [0], r"one entry per chunk. Got shape \(1, 1\)"),
    ],
)
def test_chunk_ids_refuses_strings_mismatched_lengths_and_non_int_positions(doc_ids, positions, match) -> None:
    raises(InputError, lambda: chunk_ids(doc_ids, positions), match)


def test_chunk_ids_still_builds_ids_from_lists_arrays_and_generators() -> None:
    assert chunk_ids(["a", "a", "b"], [0, 1, 0]).tolist() == ["a#0", "a#1", "b#0"]
    assert chunk_ids(np.array(["a", "b"], dtype=object), np.array([3, 4], dtype=np.int32)).tolist() == ["a#3", "b#4"]
    assert chunk_ids((d for d in ["x"]), [np.int64(7)]).tolist() == ["x#7"]
    assert chunk_ids([], []).tolist() == []


# -- hole 2: scores that are not real numbers -------------------------------------------------------------------

NOT_REAL = [pytest.param("0.9", id="str"), pytest.param(True, id="bool"), pytest.param(np.True_, id="numpy bool"),
            pytest.param(1 + 2j, id="complex"), pytest.param(None, id="None"), pytest.param(b"1", id="bytes")]


@pytest.mark.parametrize("score", NOT_REAL)
def test_evaluate_refuses_a_score_that_is_not_a_real_number(score: Any) -> None:
    error = raises(InputError, lambda: evaluate({"q": {"d": score, "e": 0.5}}, QRELS), r"evaluate, run\['q'\]: scores must be real numbers")
    assert repr(score) in str(error)


@pytest.mark.parametrize("score", NOT_REAL)
def test_doc_level_run_refuses_a_score_that_is_not_a_real_number(score: Any) -> None:
    raises(InputError, lambda: doc_level_run(["q"], [["a", "b"]], [[0.5, score]]), r"scores_per_query\[0\] \(query 'q'\): scores must be real")  # noqa: E501


@pytest.mark.parametrize("scores", [np.array([True, False]), np.array(["1", "2"]), np.array([1j, 2j]), np.array([None, 1.0])])
def test_doc_level_run_refuses_score_arrays_of_another_dtype(scores: np.ndarray) -> None:
    raises(InputError, lambda: doc_level_run(["q"], [["a", "b"]], [scores]), "scores must be real numbers")


def test_nested_scores_and_huge_ints_are_refused() -> None:
    raises(InputError, lambda: evaluate({"q": {"d": [1.0]}}, QRELS), "each score must be one real number")
    raises(InputError, lambda: evaluate({"q": {"d": 10**400}}, QRELS), "fit in a float64")
    raises(InputError, lambda: doc_level_run(["q"], [["a"]], [[[1.0]]]), "give one score per chunk hit")
    raises(InputError, lambda: doc_level_run(["q"], [["a", "b"]], [[[1.0], [1.0, 2.0]]]), "ragged rows")


def test_real_numbers_of_every_kind_are_still_scored() -> None:
    run = {"q": {"d": np.float32(0.5), "e": 2, "f": np.int64(3), "g": Fraction(1, 3), "h": np.float16(0.25), "i": 2**70}}
    res = evaluate(run, {"q": {"e": 1}}, ("mrr@10",))
    assert res.means == {"mrr@10": 1 / 3}  # i (2**70) and f (3) rank above e (2)
    assert doc_level_run(["q"], [["a", "b", "a"]], [[1, np.float64(0.5), np.uint8(7)]]) == {"q": {"a": 7.0, "b": 0.5}}


# -- hole 3: metric names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("ndcg@99999999999999999999999", r"Metric 'ndcg@99999999999999999999999': k must be an int >= 1 \(and at most 9223372036854775807\)"),  # noqa: E501
        ("recall@9223372036854775808", r"at most 9223372036854775807\). Got 9223372036854775808 instead"),
        ("map@" + "9" * 5000, r"Got 99999999999999999999\.\.\. \(5000 digits\)"),
        ("ndcg@10\n", r"Unknown metric 'ndcg@10\\n'; valid: ndcg@k"),
        ("ndcg@10 \n", "Unknown metric"),
        ("\tndcg@10", "Unknown metric"),
        ("ndcg@\uff11\uff10", "Unknown metric"),  # full-width digits
        ("ndcg@\u0661", "Unknown metric"),  # Arabic-Indic digit one
        ("ndcg@10\u3000", "Unknown metric"),  # ideographic space
    ],
)
def test_metric_names_beyond_int64_with_a_newline_or_non_ascii_digits_are_unknown(name: str, match: str) -> None:
    raises(ConfigError, lambda: evaluate({}, QRELS, (name,)), match)


def test_valid_metric_names_still_parse() -> None:
    res = evaluate({"q": {"d": 1.0}}, QRELS, ("NDCG@10", " mrr @ 5 ", "map@9223372036854775807", "recall@007"))
    assert list(res.means) == ["ndcg@10", "mrr@5", "map@9223372036854775807", "recall@7"]
    assert set(res.means.values()) == {1.0}
