"""evaluate() on hand-made rankings whose answers are worked out by hand."""

from __future__ import annotations

import logging
import math

import pytest

from ragkit.core.errors import ConfigError, InputError
from ragkit.eval import METRIC_FORMS, EvalResult, evaluate

ALL = ("ndcg@1", "ndcg@2", "ndcg@10", "recall@2", "recall@3", "recall@10", "precision@2",
       "precision@3", "precision@10", "mrr@10", "map@1", "map@2", "map@10")

# Ranking d1, d2, d3, d5 with grades 2, 0, 1, (unjudged); d4 (grade 3) is never retrieved.
GRADED_RUN = {"q1": {"d1": 0.9, "d2": 0.8, "d3": 0.7, "d5": 0.6}}
GRADED_QRELS = {"q1": {"d1": 2, "d2": 0, "d3": 1, "d4": 3}}


def test_graded_ranking_by_hand() -> None:
    got = evaluate(GRADED_RUN, GRADED_QRELS, ALL).per_query["q1"]
    idcg = [3.0, 3.0 + 2.0 / math.log2(3), 3.0 + 2.0 / math.log2(3) + 1.0 / 2.0]  # ideal 3, 2, 1
    expected = {
        "ndcg@1": 2.0 / 3.0,                      # d1 (2) vs ideal d4 (3)
        "ndcg@2": 2.0 / idcg[1],                  # d2 adds nothing
        "ndcg@10": (2.0 + 1.0 / 2.0) / idcg[2],   # d3 at rank 3: 1 / log2(4)
        "recall@2": 1 / 3, "recall@3": 2 / 3, "recall@10": 2 / 3,  # 3 relevant: d1, d3, d4
        "precision@2": 1 / 2, "precision@3": 2 / 3, "precision@10": 2 / 10,
        "mrr@10": 1.0,
        "map@1": 1 / 3,                           # P@1 = 1, over 3 relevant
        "map@2": 1 / 3,
        "map@10": (1 / 1 + 2 / 3) / 3,            # relevant at ranks 1 and 3
    }
    assert got == pytest.approx(expected, abs=1e-12)


def test_mrr_cut_off() -> None:
    run = {"q": {"a": 3.0, "b": 2.0, "c": 1.0}}
    qrels = {"q": {"c": 1}}
    means = evaluate(run, qrels, ("mrr@2", "mrr@3", "mrr@100")).means
    assert means == {"mrr@2": 0.0, "mrr@3": pytest.approx(1 / 3), "mrr@100": pytest.approx(1 / 3)}


def test_perfect_and_empty_rankings() -> None:
    qrels = {"q": {"a": 1, "b": 1}}
    perfect = evaluate({"q": {"a": 2.0, "b": 1.0}}, qrels, ALL).per_query["q"]
    assert perfect["ndcg@10"] == pytest.approx(1.0) and perfect["recall@2"] == 1.0
    assert perfect["map@10"] == 1.0 and perfect["precision@2"] == 1.0
    empty = evaluate({"q": {}}, qrels, ALL)
    assert set(empty.per_query["q"].values()) == {0.0}
    assert empty.num_missing == 0  # present in the run, just retrieved nothing


def test_ties_broken_by_doc_id_descending() -> None:
    qrels = {"q": {"a": 1}}
    # All tied: trec_eval order is c, b, a -> the relevant doc lands at rank 3.
    res = evaluate({"q": {"a": 1.0, "b": 1.0, "c": 1.0}}, qrels, ("mrr@10", "precision@1"))
    assert res.means == {"mrr@10": pytest.approx(1 / 3), "precision@1": 0.0}
    # Lexicographic, not numeric: "d9" > "d10", so d9 comes first.
    res = evaluate({"q": {"d9": 0.5, "d10": 0.5}}, {"q": {"d10": 1}}, ("mrr@10",))
    assert res.means["mrr@10"] == 0.5


def test_ties_at_the_cut_off() -> None:
    # Six docs, k = 2: "top" first, then the highest id among the five tied ones ("z").
    run = {"q": {"top": 2.0, "a": 1.0, "m": 1.0, "z": 1.0, "b": 1.0, "c": 1.0}}
    assert evaluate(run, {"q": {"z": 1}}, ("precision@2",)).means["precision@2"] == 0.5
    assert evaluate(run, {"q": {"m": 1}}, ("precision@2",)).means["precision@2"] == 0.0


def test_missing_queries_count_zero() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    res = evaluate({"q1": {"a": 1.0}}, qrels, ("ndcg@10", "recall@100"))
    assert res.num_queries == 2 and res.num_missing == 1
    assert res.per_query["q2"] == {"ndcg@10": 0.0, "recall@100": 0.0}
    assert res.means == {"ndcg@10": 0.5, "recall@100": 0.5}


def test_queries_without_relevant_docs_are_not_counted() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 0}, "q3": {"c": -1}, "q4": {}}
    run = {"q1": {"a": 1.0}, "q2": {"b": 1.0}, "q3": {"c": 1.0}, "q5": {"a": 1.0}}
    res = evaluate(run, qrels, ("ndcg@10",))
    assert res.num_queries == 1 and list(res.per_query) == ["q1"]
    assert res.means == {"ndcg@10": 1.0}


def test_negative_grades_are_zero_gain() -> None:
    run = {"q": {"bad": 2.0, "good": 1.0}}
    res = evaluate(run, {"q": {"bad": -2, "good": 1}}, ("ndcg@10", "precision@1"))
    assert res.means["ndcg@10"] == pytest.approx(1.0 / math.log2(3))  # not pulled below
    assert res.means["precision@1"] == 0.0


def test_metric_names_are_case_insensitive_and_deduplicated() -> None:
    res = evaluate({"q": {"a": 1.0}}, {"q": {"a": 1}}, ["nDCG@10", "ndcg@10", "MAP@5", " mrr @ 3 "])
    assert list(res.means) == ["ndcg@10", "map@5", "mrr@3"]
    assert evaluate({"q": {"a": 1.0}}, {"q": {"a": 1}}, "recall@5").means == {"recall@5": 1.0}


def test_default_metrics_and_result_type() -> None:
    res = evaluate({"q": {"a": 1.0}}, {"q": {"a": 1}})
    assert isinstance(res, EvalResult)
    assert list(res.means) == ["ndcg@10", "recall@100"]
    assert repr(res) == "EvalResult(num_queries=1, num_missing=0, means={'ndcg@10': 1.0000, 'recall@100': 1.0000})"
    with pytest.raises(AttributeError):
        res.num_queries = 3  # type: ignore[misc]


def test_warns_when_no_run_query_is_judged(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="ragkit.eval.metrics"):
        evaluate({"1": {"a": 1.0}}, {"q1": {"a": 1}})
    assert "None of the 1 judged queries is in the run" in caplog.text


# -- bad input ---------------------------------------------------------------------------


def test_unknown_metric_lists_valid_forms() -> None:
    with pytest.raises(ConfigError) as info:
        evaluate({}, {"q": {"a": 1}}, ("ndgc@10",))
    assert str(info.value).startswith(
        "Unknown metric 'ndgc@10'; valid: ndcg@k, recall@k, precision@k, mrr@k, map@k"
    )
    assert METRIC_FORMS == ("ndcg@k", "recall@k", "precision@k", "mrr@k", "map@k")


@pytest.mark.parametrize("name", ["ndcg", "ndcg@", "@10", "ndcg@ten", "ndcg@10.5", "P@10", "", 10, None])
def test_malformed_metric_names(name) -> None:
    with pytest.raises(ConfigError, match="valid: ndcg@k"):
        evaluate({}, {"q": {"a": 1}}, (name,))


@pytest.mark.parametrize("name", ["ndcg@0", "recall@-1", "map@-100"])
def test_k_must_be_positive(name: str) -> None:
    with pytest.raises(ConfigError, match="k must be an int >= 1"):
        evaluate({}, {"q": {"a": 1}}, (name,))


def test_no_metrics() -> None:
    with pytest.raises(ConfigError, match="No metrics requested"):
        evaluate({}, {"q": {"a": 1}}, ())


@pytest.mark.parametrize(
    ("run", "qrels", "match"),
    [
        ([("q", {"a": 1.0})], {"q": {"a": 1}}, "run must be a mapping"),
        ({"q": {"a": 1.0}}, None, "qrels must be a mapping"),
        ({1: {"a": 1.0}}, {"q": {"a": 1}}, "run: query ids must be strings"),
        ({"q": {"a": 1.0}}, {1: {"a": 1}}, "qrels: query ids must be strings"),
        ({"q": ["a"]}, {"q": {"a": 1}}, r"run\['q'\] must be a mapping"),
        ({"q": {"a": 1.0}}, {"q": {"a": 1.5}}, "grade must be an int"),
        ({"q": {"a": 1.0}}, {"q": {"a": True}}, "grade must be an int"),
        ({"q": {"a": 1.0}}, {"q": {2: 1}}, "doc ids must be strings"),
        ({"q": {"a": float("nan")}}, {"q": {"a": 1}}, "is NaN"),
        ({"q": {"a": "high"}}, {"q": {"a": 1}}, "scores must be real numbers"),
        ({"q": {7: 1.0}}, {"q": {"a": 1}}, "doc ids must be strings"),
        ({"q": {"a": 1.0}}, {"q": {"a": 0}}, "no query with a relevant document"),
        ({}, {}, "no query with a relevant document"),
    ],
)
def test_bad_inputs(run, qrels, match: str) -> None:
    with pytest.raises(InputError, match=match):
        evaluate(run, qrels)


def test_scores_compared_in_single_precision() -> None:
    # 1 + 1e-9 and 1.0 are the same float32, so they tie and "b" > "a" ranks first (trec_eval).
    res = evaluate({"q": {"a": 1.0 + 1e-9, "b": 1.0}}, {"q": {"a": 1}}, ("mrr@10",))
    assert res.means["mrr@10"] == 0.5
    res = evaluate({"q": {"a": 1.0 + 1e-6, "b": 1.0}}, {"q": {"a": 1}}, ("mrr@10",))
    assert res.means["mrr@10"] == 1.0
