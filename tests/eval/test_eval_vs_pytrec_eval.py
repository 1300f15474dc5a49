"""evaluate() agrees with pytrec_eval (trec_eval) to 1e-9, on random and real-shaped runs."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragkit.eval import evaluate, load_beir

pytrec_eval = pytest.importorskip("pytrec_eval")

# Our metric -> pytrec_eval measure (request form, result key). pytrec_eval's recip_rank has
# no cut-off, so mrr is compared with a k beyond any run length.
LARGE_K = {
    "ndcg@10": ("ndcg_cut.10", "ndcg_cut_10"),
    "recall@100": ("recall.100", "recall_100"),
    "precision@10": ("P.10", "P_10"),
    "mrr@100000": ("recip_rank", "recip_rank"),
    "map@100": ("map_cut.100", "map_cut_100"),
}
# Small cut-offs, so ties at the cut-off and the partial-selection path are exercised.
SMALL_K = {
    "ndcg@3": ("ndcg_cut.3", "ndcg_cut_3"),
    "recall@3": ("recall.3", "recall_3"),
    "precision@2": ("P.2", "P_2"),
    "map@3": ("map_cut.3", "map_cut_3"),
}


def assert_agrees(run: dict, qrels: dict, table: dict[str, tuple[str, str]]) -> None:
    ours = evaluate(run, qrels, tuple(table))
    ref = pytrec_eval.RelevanceEvaluator(qrels, {m for m, _ in table.values()}).evaluate(run)
    # pytrec_eval scores only queries present in the run; we also skip queries without
    # a relevant document and score judged queries missing from the run as 0.
    judged = {q for q, j in qrels.items() if any(g > 0 for g in j.values())}
    assert set(ours.per_query) == judged
    common = judged & set(run)
    assert set(ref) >= common
    for qid in common:
        for name, (_, key) in table.items():
            assert math.isclose(ours.per_query[qid][name], ref[qid][key], rel_tol=0, abs_tol=1e-9), (
                qid, name, ours.per_query[qid][name], ref[qid][key]
            )
    for qid in judged - common:
        assert set(ours.per_query[qid].values()) == {0.0}
    for name, (_, key) in table.items():
        expected = sum(ref[q][key] for q in common) / len(judged)
        assert math.isclose(ours.means[name], expected, rel_tol=0, abs_tol=1e-9)


# -- random runs (hypothesis) ------------------------------------------------------------

# Set RAGKIT_HYPOTHESIS_EXAMPLES (e.g. 5000) for a deeper search than the default.
EXAMPLES = int(os.environ.get("RAGKIT_HYPOTHESIS_EXAMPLES", "300"))
doc_ids = st.text(alphabet="ab1Z_é", min_size=1, max_size=3)
query_ids = st.sampled_from([f"q{i}" for i in range(6)])
scores = st.one_of(
    st.sampled_from([0.0, -0.0, 0.5, 1.0, 2.0]),  # many ties
    # Distinct doubles that are equal (or overflow to inf) in float32, as trec_eval keeps them.
    st.sampled_from([1.0 + 1e-9, 1e-50, -1e-50, 1e39, -1e39, math.inf, -math.inf]),
    st.floats(allow_nan=False),
)
qrels_strategy = st.dictionaries(
    query_ids, st.dictionaries(doc_ids, st.integers(min_value=-1, max_value=4), max_size=8),
    min_size=1, max_size=6,
).filter(lambda q: any(g > 0 for j in q.values() for g in j.values()))
run_strategy = st.dictionaries(query_ids, st.dictionaries(doc_ids, scores, max_size=30), max_size=6)


@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(qrels=qrels_strategy, run=run_strategy)
def test_random_runs_agree(qrels: dict, run: dict) -> None:
    assert_agrees(run, qrels, LARGE_K)
    assert_agrees(run, qrels, SMALL_K)


@settings(max_examples=EXAMPLES // 3, deadline=None, database=None)
@given(data=st.data())
def test_random_runs_over_judged_docs_agree(data: st.DataObject) -> None:
    # Runs drawn over the judged ids make relevant hits (and graded ties) frequent.
    qrels = data.draw(qrels_strategy)
    run = {}
    for qid, judged in qrels.items():
        pool = [*sorted(judged), "x", "y", "zz"]
        chosen = data.draw(st.lists(st.sampled_from(pool), unique=True, max_size=len(pool)))
        run[qid] = {d: data.draw(scores) for d in chosen}
    assert_agrees(run, qrels, LARGE_K)
    assert_agrees(run, qrels, SMALL_K)


# -- a real-shaped run on SciFact --------------------------------------------------------


def synthetic_run(qrels: dict, corpus_ids: list[str], seed: int) -> dict[str, dict[str, float]]:
    """Random scores over each query's judged docs plus 300 other corpus ids.

    Scores are rounded to 2 decimals so ties are common; about 10% of queries are left out.
    """
    rng = np.random.default_rng(seed)
    run: dict[str, dict[str, float]] = {}
    for qid in sorted(qrels):
        if rng.random() < 0.1:
            continue
        others = rng.choice(len(corpus_ids), size=300, replace=False)
        docs = list(qrels[qid]) + [corpus_ids[i] for i in others]
        run[qid] = {d: float(s) for d, s in zip(docs, np.round(rng.random(len(docs)), 2), strict=True)}
    return run


@pytest.mark.parametrize("seed", [0, 1])
def test_real_shaped_run_agrees(scifact_dir: Path, seed: int) -> None:
    ds = load_beir(scifact_dir)
    run = synthetic_run(ds.qrels, [d.id for d in ds.documents], seed)
    assert 0 < len(run) < len(ds.qrels)
    assert_agrees(run, ds.qrels, LARGE_K)
    assert_agrees(run, ds.qrels, SMALL_K)
    res = evaluate(run, ds.qrels)
    assert res.num_queries == 300 and res.num_missing == 300 - len(run)
