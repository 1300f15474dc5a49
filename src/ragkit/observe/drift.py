"""Drift signals over a query log: are answers getting emptier, weaker, slower, or are the legs disagreeing?

All functions take the Arrow table :func:`ragkit.observe.read_log` returns (or any table
with its columns) and return plain dicts or Arrow tables.

- :func:`window_stats`: one row per time window: queries, empty-result rate, top-1
  score (fused and per leg) mean and quantiles, leg agreement, latency percentiles.
- :func:`compare_windows`: a reference period against a current one: rate deltas, the
  two-sample Kolmogorov-Smirnov test and the population stability index (PSI) of the
  top-1 scores, latency ratios, and ``flags`` naming the signals past their thresholds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ragkit.core.errors import InputError
from ragkit.core.validation import check_float, check_int

__all__ = ["MAX_PSI_BINS", "DriftThresholds", "compare_windows", "leg_agreement", "leg_top1", "psi", "window_stats"]

_PERCENTILES = (50, 95, 99)


@dataclass(frozen=True, kw_only=True)
class DriftThresholds:
    """When :func:`compare_windows` raises a flag.

    ``psi``: population stability index of the top-1 scores (0.1 = moderate, 0.25 = large
    shift by the usual rule of thumb); ``ks_pvalue``: KS test p-value below which the
    score distributions differ; ``empty_rate_delta``: absolute rise of the empty-result
    rate; ``agreement_drop``: fall of mean leg agreement; ``latency_ratio``: p95 latency
    current / reference.
    """

    psi: float = 0.2
    ks_pvalue: float = 0.01
    empty_rate_delta: float = 0.05
    agreement_drop: float = 0.1
    latency_ratio: float = 1.5

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            check_float("DriftThresholds", name, value, low=0.0)


def _rows(table: pa.Table, needed: Sequence[str]) -> None:
    missing = [c for c in needed if c not in table.column_names]
    if missing:
        raise InputError(f"The query-log table lacks columns {missing}; pass a table from read_log().")


def _leg_lists(table: pa.Table, leg: str, field: str, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(owner row, value) pairs of the first ``k`` entries of ``field`` in leg ``leg`` of each log row."""
    legs = table.column("legs").combine_chunks()
    flat = pc.list_flatten(legs)
    parent = np.asarray(pc.list_parent_indices(legs), dtype=np.int64)
    selected = np.asarray(pc.equal(flat.field("name"), leg).fill_null(False), dtype=bool)
    lists = flat.field(field).filter(pa.array(selected))
    sliced = pc.list_slice(lists, 0, k)
    owner = parent[selected][np.asarray(pc.list_parent_indices(sliced), dtype=np.int64)]
    values = pc.list_flatten(sliced).to_numpy(zero_copy_only=False)
    return owner, values


def leg_top1(table: pa.Table, leg: str) -> np.ndarray:
    """Each logged query's best score in leg ``leg`` before fusion (NaN where the leg found nothing or is absent)."""
    _rows(table, ["legs"])
    out = np.full(table.num_rows, np.nan)
    owner, values = _leg_lists(table, leg, "scores", 1)
    out[owner] = values
    return out


def leg_agreement(table: pa.Table, legs: tuple[str, str] = ("bm25", "dense"), k: int = 10) -> np.ndarray:
    """Per logged query, overlap@k of two legs' candidate rows: ``|A_k & B_k| / max(|A_k|, |B_k|)``.

    NaN where a leg is absent or both found nothing. Vectorised: rows are encoded as
    ``(query, row)`` keys and matched with one ``isin``.
    """
    _rows(table, ["legs"])
    check_int("leg_agreement", "k", k, low=1, error=InputError)
    n = table.num_rows
    owner_a, rows_a = _leg_lists(table, legs[0], "rows", k)
    owner_b, rows_b = _leg_lists(table, legs[1], "rows", k)
    stride = int(max(rows_a.max(initial=0), rows_b.max(initial=0))) + 1
    keys_a, keys_b = owner_a * stride + rows_a, owner_b * stride + rows_b
    common = np.bincount(owner_a[np.isin(keys_a, keys_b)], minlength=n)
    size = np.maximum(np.bincount(owner_a, minlength=n), np.bincount(owner_b, minlength=n))
    has_both = np.zeros(n, dtype=bool)
    has_both[np.intersect1d(_owners_of(table, legs[0]), _owners_of(table, legs[1]))] = True
    out = np.full(n, np.nan)
    ok = has_both & (size > 0)
    out[ok] = common[ok] / size[ok]
    return out


def _owners_of(table: pa.Table, leg: str) -> np.ndarray:
    legs = table.column("legs").combine_chunks()
    flat = pc.list_flatten(legs)
    parent = np.asarray(pc.list_parent_indices(legs), dtype=np.int64)
    return parent[np.asarray(pc.equal(flat.field("name"), leg).fill_null(False), dtype=bool)]


#: The most bins :func:`psi` takes (the index's 1e-4 floor makes finer bins meaningless long before).
MAX_PSI_BINS = 10_000


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """Population stability index of ``current`` against ``reference`` over ``bins`` reference-quantile bins.

    ``reference`` and ``current`` are 1-D arrays (or lists) of real numbers; ``bins`` is an
    int in [2, 10 000]. NaN values are dropped; empty inputs give NaN. Bins with no mass get
    1e-4 so the log stays finite.

    Raises:
        InputError: ``bins`` is not an int in [2, 10 000] (a bool or a float is refused), or
            ``reference`` / ``current`` is not a 1-D sequence of real numbers (bools, strings refused).
    """
    bins = check_int("psi", "bins", bins, low=2, high=MAX_PSI_BINS, error=InputError)
    ref, cur = _real_values("reference", reference), _real_values("current", current)
    ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    if ref.size == 0 or cur.size == 0:
        return float("nan")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    p = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=edges.size + 1) / ref.size
    q = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=edges.size + 1) / cur.size
    p, q = np.maximum(p, 1e-4), np.maximum(q, 1e-4)
    return float(np.sum((q - p) * np.log(q / p)))


def _real_values(name: str, values: Any) -> np.ndarray:
    """``values`` as a 1-D float64 array, checked by dtype: ints and floats, not bools, strings or objects."""
    array = values if isinstance(values, np.ndarray) else None
    if array is None and not isinstance(values, (str, bytes)):
        try:
            array = np.asarray(values)
        except (TypeError, ValueError):  # ragged rows
            array = None
    if array is None or array.ndim != 1 or (array.dtype.kind not in "iuf" and array.size > 0):
        shown = f"an array of dtype {array.dtype} and shape {array.shape}" if array is not None else f"{values!r}"
        raise InputError(f"The {name!r} parameter of psi must be a 1-D array of real numbers (int or float). Got {shown} instead.")
    return array.astype(np.float64, copy=False)


def _empty(table: pa.Table) -> np.ndarray:
    return np.asarray(pc.equal(pc.list_value_length(table.column("rows")), 0).fill_null(True), dtype=bool)


def _floats(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=np.float64)


def _seconds(window: float | dt.timedelta) -> float:
    value = window.total_seconds() if isinstance(window, dt.timedelta) else window
    return check_float("window_stats", "window", value, low=1e-6, error=InputError)


def window_stats(table: pa.Table, window: float | dt.timedelta = 3600.0, *, legs: Sequence[str] = ("bm25", "dense"),
                 k: int = 10) -> pa.Table:
    """Signals per time window (``window`` seconds or a timedelta; windows without queries are left out).

    Columns: ``window_start``, ``queries``, ``empty_rate``, ``top1_mean``, ``top1_p10``,
    ``top1_p50``, ``<leg>_top1_mean`` for each leg, ``agreement`` (mean :func:`leg_agreement`
    of the first two ``legs``; NaN if fewer), ``latency_p50``, ``latency_p95``, ``latency_p99`` (seconds).
    """
    _rows(table, ["ts", "rows", "top1", "legs", "latency_s"])
    size_us = round(_seconds(window) * 1e6)
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    bucket = ts // size_us
    starts, inverse = np.unique(bucket, return_inverse=True)
    empty, top1, latency = _empty(table), _floats(table, "top1"), _floats(table, "latency_s")
    leg_tops = {leg: leg_top1(table, leg) for leg in legs}
    agree = leg_agreement(table, (legs[0], legs[1]), k) if len(legs) >= 2 else np.full(table.num_rows, np.nan)
    columns: dict[str, list[Any]] = {"window_start": [], "queries": [], "empty_rate": [], "top1_mean": [], "top1_p10": [],
                                     "top1_p50": [], **{f"{leg}_top1_mean": [] for leg in legs}, "agreement": [],
                                     **{f"latency_p{p}": [] for p in _PERCENTILES}}
    counts = np.bincount(inverse, minlength=starts.size)
    empty_rate = np.bincount(inverse, weights=empty, minlength=starts.size) / counts
    order = np.argsort(inverse, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(counts)])
    for w in range(starts.size):  # one iteration per window, not per query
        rows = order[bounds[w]:bounds[w + 1]]
        t = top1[rows]
        columns["window_start"].append(int(starts[w]) * size_us)
        columns["queries"].append(int(counts[w]))
        columns["empty_rate"].append(float(empty_rate[w]))
        columns["top1_mean"].append(_nanstat(np.nanmean, t))
        columns["top1_p10"].append(_nanstat(lambda a: np.nanpercentile(a, 10), t))
        columns["top1_p50"].append(_nanstat(np.nanmedian, t))
        for leg in legs:
            columns[f"{leg}_top1_mean"].append(_nanstat(np.nanmean, leg_tops[leg][rows]))
        columns["agreement"].append(_nanstat(np.nanmean, agree[rows]))
        for p in _PERCENTILES:
            columns[f"latency_p{p}"].append(_nanstat(lambda a, p=p: np.nanpercentile(a, p), latency[rows]))
    out = pa.table({name: pa.array(values, type=pa.int64() if name == "queries" else pa.float64())
                    for name, values in columns.items() if name != "window_start"})
    return out.add_column(0, "window_start", pa.array(columns["window_start"], type=pa.int64()).cast(pa.timestamp("us", tz="UTC")))


def _nanstat(fn: Any, values: np.ndarray) -> float:
    return float(fn(values)) if values.size and not np.isnan(values).all() else float("nan")


def compare_windows(reference: pa.Table, current: pa.Table, *, legs: Sequence[str] = ("bm25", "dense"), k: int = 10,
                    thresholds: DriftThresholds | None = None) -> dict[str, Any]:
    """Drift of ``current`` against ``reference`` (two slices of a query log, e.g. last week and today).

    Returns a dict: ``queries``, ``empty_rate``, ``top1`` (fused) and ``<leg>_top1`` (each
    with means, ``ks_statistic``, ``ks_pvalue``, ``psi``), ``agreement``, ``latency``
    (p50/p95/p99 and ratios) and ``flags``: the names of the signals past ``thresholds``.
    """
    from scipy.stats import ks_2samp

    th = thresholds or DriftThresholds()
    for t in (reference, current):
        _rows(t, ["ts", "rows", "top1", "legs", "latency_s"])
    report: dict[str, Any] = {"queries": {"reference": reference.num_rows, "current": current.num_rows}}
    flags: list[str] = []

    e_ref, e_cur = _rate(_empty(reference)), _rate(_empty(current))
    report["empty_rate"] = {"reference": e_ref, "current": e_cur, "delta": e_cur - e_ref}
    if e_cur - e_ref > th.empty_rate_delta:
        flags.append("empty_rate")

    score_sets = {"top1": (_floats(reference, "top1"), _floats(current, "top1"))}
    score_sets.update({f"{leg}_top1": (leg_top1(reference, leg), leg_top1(current, leg)) for leg in legs})
    for name, (ref, cur) in score_sets.items():
        a, b = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
        entry: dict[str, Any] = {"reference_mean": _nanstat(np.mean, a), "current_mean": _nanstat(np.mean, b),
                                 "ks_statistic": float("nan"), "ks_pvalue": float("nan"), "psi": psi(a, b)}
        if a.size and b.size:
            ks = ks_2samp(a, b)
            entry["ks_statistic"], entry["ks_pvalue"] = float(ks.statistic), float(ks.pvalue)
            if entry["psi"] > th.psi and entry["ks_pvalue"] < th.ks_pvalue:
                flags.append(name)
        report[name] = entry

    if len(legs) >= 2:
        a_ref = _nanstat(np.nanmean, leg_agreement(reference, (legs[0], legs[1]), k))
        a_cur = _nanstat(np.nanmean, leg_agreement(current, (legs[0], legs[1]), k))
        report["agreement"] = {"legs": list(legs[:2]), "k": k, "reference": a_ref, "current": a_cur, "delta": a_cur - a_ref}
        if a_ref - a_cur > th.agreement_drop:
            flags.append("agreement")

    lat_ref, lat_cur = _floats(reference, "latency_s"), _floats(current, "latency_s")
    latency: dict[str, Any] = {}
    for p in _PERCENTILES:
        r = _nanstat(lambda v, p=p: np.nanpercentile(v, p), lat_ref)
        c = _nanstat(lambda v, p=p: np.nanpercentile(v, p), lat_cur)
        latency[f"p{p}"] = {"reference": r, "current": c, "ratio": c / r if r > 0 else float("nan")}
    report["latency"] = latency
    if latency["p95"]["ratio"] > th.latency_ratio:
        flags.append("latency")
    report["flags"] = flags
    return report


def _rate(mask: np.ndarray) -> float:
    return float(mask.mean()) if mask.size else float("nan")
