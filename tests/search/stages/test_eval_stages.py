"""Reranking in the evaluation workbench and experiments: the same reranking as the stage, timed per query."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ragkit.core.errors import ConfigError, InputError
from ragkit.eval import Experiment, FusionConfig, FusionWorkbench, experiment_grid, load_beir, run_experiments
from ragkit.testing import FakeReranker

from .conftest import stage_docs


@pytest.fixture
def beir(tmp_path: Path) -> Path:
    docs = stage_docs(30)
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text("".join(json.dumps({"_id": d.id, "title": "", "text": d.text}) + "\n" for d in docs))
    queries = ["cat dog", "fish river", "bird nest", "horse legs"]
    (tmp_path / "queries.jsonl").write_text("".join(json.dumps({"_id": f"q{i}", "text": t}) + "\n" for i, t in enumerate(queries)))
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\td{i + 1}\t1\n" for i in range(4)))
    return tmp_path


def test_workbench_rerank_reorders_the_top_by_the_rerankers_scores() -> None:
    wb = FusionWorkbench({"q1": "cats purr"}, depth=5)
    wb.add_run("bm25", {"q1": {"a": 5.0, "b": 4.0, "c": 3.0, "d": 2.0}})
    texts = {"a": "dogs bark", "b": "cats purr loudly", "c": "cats", "d": "cats purr"}
    run, seconds = wb.rerank(FusionConfig(k=60), FakeReranker(), texts, depth=3)
    order = list(run["q1"])
    top = sorted("abc", key=lambda d: -FakeReranker.pair_score("cats purr", texts[d]))
    assert order[:3] == top and order[3] == "d" and seconds.shape == (1,) and seconds[0] >= 0
    assert list(run["q1"].values()) == sorted(run["q1"].values(), reverse=True)
    with pytest.raises(InputError, match="no text"):
        wb.rerank(FusionConfig(k=60), FakeReranker(), {"a": "x"}, depth=3)
    with pytest.raises(ConfigError, match="depth"):
        wb.rerank(FusionConfig(k=60), FakeReranker(), texts, depth=0)


def test_experiments_sweep_rerank_depths(beir: Path) -> None:
    dataset = load_beir(beir, split="test")
    reranker = FakeReranker()
    grid = experiment_grid(legs=[("bm25",)], rerank=[None, reranker], rerank_depth=[2, 5])
    table = run_experiments(dataset, grid, depth=10, latency_queries=2)
    assert list(table["experiment"]) == ["bm25", "bm25", "bm25 + rerank@2", "bm25 + rerank@5"]
    assert table["rerank"].tolist()[2:] == ["fake-reranker"] * 2 and table["rerank_depth"].tolist()[2] == 2
    assert (table["rerank_p50_ms"][2:] > 0).all() and (table["rerank_p50_ms"][:2] == 0).all()
    assert np.isfinite(table["ndcg@10"]).all()
    assert len(reranker.seen) == 4 * 2 + 4 * 5  # every judged query, the top rerank_depth documents


def test_bad_rerank_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="rerank_depth"):
        Experiment(rerank="m", rerank_depth=0)
    with pytest.raises(ConfigError, match="rerank"):
        Experiment(rerank=3)  # type: ignore[arg-type]
