"""Plots of experiment tables: quality against latency, quality against a fusion weight.

matplotlib loads on first call (``pip install 'ragkit[notebook]'``). Each helper draws on
the given ``ax`` (or a new figure) and returns the Axes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ragkit.core.deps import require
from ragkit.core.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["plot_metric_vs_latency", "plot_metric_vs_weight"]


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    plt = require("matplotlib.pyplot", extra="notebook")
    _, new_ax = plt.subplots(figsize=(6, 4))
    return new_ax  # type: ignore[no-any-return]


def _check_columns(table: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"The table has no column(s) {missing}; it has {list(table.columns)}.")


def plot_metric_vs_latency(table: pd.DataFrame, metric: str = "ndcg@10", *, latency: str = "latency_p50_ms",
                           label: str = "experiment", ax: Axes | None = None) -> Axes:
    """Scatter ``metric`` (y) against ``latency`` (x, ms), one labelled point per row.

    Example:
        >>> plot_metric_vs_latency(run_experiments(ds, grid))    # doctest: +SKIP

    Raises:
        InputError: if a named column is missing.
    """
    _check_columns(table, [metric, latency, label])
    ax = _axes(ax)
    ax.scatter(table[latency], table[metric])
    for _, row in table.iterrows():
        ax.annotate(str(row[label]), (row[latency], row[metric]), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel(f"{latency.replace('_', ' ')}")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} vs latency per query")
    ax.grid(True, alpha=0.3)
    return ax


def plot_metric_vs_weight(table: pd.DataFrame, metric: str = "ndcg@10", *, weight: str = "dense_weight",
                          group: str | None = "method", ax: Axes | None = None, **line_kwargs: Any) -> Axes:
    """Line plot of ``metric`` against a numeric ``weight`` column, one line per value of ``group``.

    Example:
        >>> table["dense_weight"] = [c.weights[1] for c in table["config"]]   # doctest: +SKIP
        >>> plot_metric_vs_weight(table)                                      # doctest: +SKIP

    Raises:
        InputError: if a named column is missing.
    """
    _check_columns(table, [metric, weight] + ([group] if group else []))
    ax = _axes(ax)
    groups = table.groupby(group, sort=True) if group else [(metric, table)]
    for name, part in groups:
        part = part.sort_values(weight)
        ax.plot(part[weight], part[metric], marker="o", label=str(name[0] if isinstance(name, tuple) else name),
                **line_kwargs)
    ax.set_xlabel(weight.replace("_", " "))
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} vs {weight.replace('_', ' ')}")
    ax.grid(True, alpha=0.3)
    if group:
        ax.legend(title=group)
    return ax
