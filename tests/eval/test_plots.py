"""Plot helpers draw one point per experiment and one line per group."""

from __future__ import annotations

import pytest

from ragkit import InputError
from ragkit.eval import plot_metric_vs_latency, plot_metric_vs_weight

pd = pytest.importorskip("pandas")
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame({
        "experiment": ["bm25", "dense", "rrf", "score"],
        "ndcg@10": [0.68, 0.65, 0.70, 0.71],
        "latency_p50_ms": [2.0, 9.0, 11.0, 11.5],
        "method": ["rrf", "rrf", "score", "score"],
        "dense_weight": [0.2, 0.8, 0.2, 0.8],
    })


def test_metric_vs_latency(table: pd.DataFrame) -> None:
    ax = plot_metric_vs_latency(table)
    (points,) = ax.collections
    assert points.get_offsets().tolist() == [[2.0, 0.68], [9.0, 0.65], [11.0, 0.70], [11.5, 0.71]]
    assert [t.get_text() for t in ax.texts] == ["bm25", "dense", "rrf", "score"]
    assert ax.get_ylabel() == "ndcg@10"


def test_metric_vs_weight(table: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    assert plot_metric_vs_weight(table, ax=ax) is ax
    lines = {line.get_label(): line.get_ydata().tolist() for line in ax.get_lines()}
    assert lines == {"rrf": [0.68, 0.65], "score": [0.70, 0.71]}
    plt.close("all")


def test_missing_column(table: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=r"no column\(s\) \['recall@100'\]"):
        plot_metric_vs_latency(table, "recall@100")
    with pytest.raises(InputError, match="bm25_weight"):
        plot_metric_vs_weight(table, weight="bm25_weight")
