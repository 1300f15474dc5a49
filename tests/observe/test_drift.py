from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from ragkit import InputError
from ragkit.observe import LOG_SCHEMA, DriftThresholds, compare_windows, leg_agreement, leg_top1, psi, window_stats

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)


def make_log(n: int, *, start: dt.datetime, seed: int, top1_mean: float, empty_every: int, shared: int,
             latency: float) -> pa.Table:
    """``n`` queries one second apart; every ``empty_every``-th returns nothing; legs share ``shared`` of 10 rows."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for i in range(n):
        empty = i % empty_every == 0
        top1 = float(np.clip(rng.normal(top1_mean, 0.05), 0, 1))
        bm25 = list(range(100 * i, 100 * i + 10))
        dense = bm25[:shared] + list(range(100 * i + 50, 100 * i + 50 + 10 - shared))
        rows.append({
            "ts": start + dt.timedelta(seconds=i), "query": f"q{i}", "k": 10, "filters": None, "retriever": "hybrid",
            "collection": "c", "generation": "1,1", "rows": [] if empty else bm25, "doc_ids": [] if empty else [str(r) for r in bm25],
            "scores": [] if empty else [top1] * 10, "top1": None if empty else top1,
            "legs": [] if empty else [{"name": "bm25", "rows": bm25, "scores": [5.0 + top1] * 10},
                                      {"name": "dense", "rows": dense, "scores": [top1] * 10}],
            "latency_s": float(rng.normal(latency, latency / 20)), "batch_size": 1, "stages": [],
        })
    return pa.Table.from_pylist(rows, schema=LOG_SCHEMA)


def test_windows_report_known_rates_agreement_and_latency() -> None:
    before = make_log(400, start=T0, seed=1, top1_mean=0.8, empty_every=10, shared=7, latency=0.02)
    after = make_log(400, start=T0 + dt.timedelta(hours=1), seed=2, top1_mean=0.6, empty_every=4, shared=3, latency=0.05)
    stats = window_stats(pa.concat_tables([before, after]), window=dt.timedelta(hours=1)).to_pylist()
    assert [w["queries"] for w in stats] == [400, 400]
    assert stats[0]["window_start"] == T0 and stats[1]["window_start"] == T0 + dt.timedelta(hours=1)
    assert stats[0]["empty_rate"] == pytest.approx(0.1) and stats[1]["empty_rate"] == pytest.approx(0.25)
    assert stats[0]["agreement"] == pytest.approx(0.7) and stats[1]["agreement"] == pytest.approx(0.3)
    assert stats[0]["top1_mean"] == pytest.approx(0.8, abs=0.01) and stats[1]["top1_mean"] == pytest.approx(0.6, abs=0.01)
    assert stats[0]["dense_top1_mean"] == pytest.approx(stats[0]["top1_mean"])
    assert stats[0]["bm25_top1_mean"] == pytest.approx(5.8, abs=0.01)
    assert stats[0]["latency_p50"] == pytest.approx(0.02, rel=0.05) and stats[1]["latency_p50"] == pytest.approx(0.05, rel=0.05)
    assert stats[1]["latency_p99"] >= stats[1]["latency_p95"] >= stats[1]["latency_p50"]


def test_compare_flags_every_shifted_signal() -> None:
    before = make_log(500, start=T0, seed=1, top1_mean=0.8, empty_every=10, shared=7, latency=0.02)
    after = make_log(500, start=T0 + dt.timedelta(days=1), seed=2, top1_mean=0.6, empty_every=4, shared=3, latency=0.05)
    report = compare_windows(before, after)
    assert set(report["flags"]) == {"empty_rate", "top1", "bm25_top1", "dense_top1", "agreement", "latency"}
    assert report["empty_rate"]["delta"] == pytest.approx(0.15)
    assert report["agreement"]["delta"] == pytest.approx(-0.4)
    assert report["top1"]["ks_pvalue"] < 1e-10 and report["top1"]["psi"] > 1.0
    assert report["latency"]["p95"]["ratio"] == pytest.approx(2.5, rel=0.1)


def test_compare_raises_no_flag_without_a_shift() -> None:
    a = make_log(500, start=T0, seed=1, top1_mean=0.8, empty_every=10, shared=7, latency=0.02)
    b = make_log(500, start=T0 + dt.timedelta(days=1), seed=3, top1_mean=0.8, empty_every=10, shared=7, latency=0.02)
    report = compare_windows(a, b)
    assert report["flags"] == []
    assert report["top1"]["psi"] < 0.1 and report["top1"]["ks_pvalue"] > 0.01
    assert report["empty_rate"]["delta"] == 0 and report["agreement"]["delta"] == 0


def test_thresholds_decide_the_flags() -> None:
    a = make_log(300, start=T0, seed=1, top1_mean=0.8, empty_every=10, shared=7, latency=0.02)
    b = make_log(300, start=T0, seed=2, top1_mean=0.8, empty_every=5, shared=6, latency=0.02)
    assert compare_windows(a, b, thresholds=DriftThresholds(agreement_drop=0.15))["flags"] == ["empty_rate"]
    strict = DriftThresholds(empty_rate_delta=0.2, agreement_drop=0.05)
    assert compare_windows(a, b, thresholds=strict)["flags"] == ["agreement"]


def test_leg_agreement_matches_a_set_oracle() -> None:
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(200):
        legs = []
        for name in ("bm25", "dense"):
            if rng.random() < 0.9:
                size = int(rng.integers(0, 15))
                legs.append({"name": name, "rows": rng.choice(40, size=size, replace=False).tolist(), "scores": [1.0] * size})
        rows.append({"legs": legs})
    table = pa.Table.from_pylist(rows, schema=pa.schema([LOG_SCHEMA.field("legs")]))
    got = leg_agreement(table, k=10)
    for i, row in enumerate(rows):
        legs = {leg["name"]: leg["rows"][:10] for leg in row["legs"]}
        if len(legs) < 2 or not (legs["bm25"] or legs["dense"]):
            assert np.isnan(got[i])
        else:
            want = len(set(legs["bm25"]) & set(legs["dense"])) / max(len(legs["bm25"]), len(legs["dense"]))
            assert got[i] == pytest.approx(want)
    tops = leg_top1(table, "dense")
    for i, row in enumerate(rows):
        dense = [leg for leg in row["legs"] if leg["name"] == "dense" and leg["rows"]]
        assert (tops[i] == 1.0) if dense else np.isnan(tops[i])


def test_psi_is_zero_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(0, 1, 5000)
    assert psi(ref, rng.normal(0, 1, 5000)) < 0.02
    assert psi(ref, rng.normal(1, 1, 5000)) > 0.5
    assert np.isnan(psi(ref, np.array([])))


def test_bad_input_is_refused() -> None:
    with pytest.raises(InputError, match="lacks columns"):
        window_stats(pa.table({"x": [1]}))
    log = make_log(10, start=T0, seed=0, top1_mean=0.5, empty_every=3, shared=5, latency=0.01)
    with pytest.raises(InputError, match="window"):
        window_stats(log, window=0)
