from __future__ import annotations

import re
import threading

import pytest

import ragkit
from ragkit import BM25Retriever, ConfigError, HybridRetriever, InputError
from ragkit.observe import Metrics, ObservedRetriever, Trace


def _samples(text: str) -> dict[str, float]:
    """Parse Prometheus text lines ``name{labels} value`` (comments skipped)."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        key, value = line.rsplit(" ", 1)
        out[key] = float(value)
    return out


def test_counters_add_up_per_label_set() -> None:
    m = Metrics()
    m.inc("searches_total", collection="a")
    m.inc("searches_total", 2, collection="a")
    m.inc("searches_total", collection="b")
    assert m.counter("searches_total", collection="a") == 3
    assert m.counter("searches_total", collection="b") == 1
    assert m.counter("searches_total", collection="c") == 0
    samples = _samples(m.to_prometheus())
    assert samples['ragkit_searches_total{collection="a"}'] == 3


def test_histogram_buckets_are_cumulative_and_match_count_and_sum() -> None:
    m = Metrics(buckets=(0.001, 0.01, 0.1))
    for v in (0.0005, 0.001, 0.005, 0.005, 0.05, 3.0):
        m.observe("stage_seconds", v, stage="embed")
    h = m.to_dict()["histograms"]["stage_seconds"][0]
    assert h["labels"] == {"stage": "embed"}
    assert h["buckets"] == {"0.001": 2, "0.01": 4, "0.1": 5, "+Inf": 6}  # le is inclusive
    assert h["count"] == 6 and h["sum"] == pytest.approx(3.0615)
    samples = _samples(m.to_prometheus())
    assert samples['ragkit_stage_seconds_bucket{stage="embed",le="+Inf"}'] == 6
    assert samples['ragkit_stage_seconds_count{stage="embed"}'] == 6
    assert samples['ragkit_stage_seconds_sum{stage="embed"}'] == pytest.approx(3.0615)


def test_prometheus_text_is_well_formed_and_escapes_labels() -> None:
    m = Metrics(prefix="app")
    m.inc("odd_total", collection='quo"te\\back\nline')
    m.observe("lat_seconds", 0.002, stage="x")
    text = m.to_prometheus()
    assert '# TYPE app_odd_total counter' in text and '# TYPE app_lat_seconds histogram' in text
    assert 'app_odd_total{collection="quo\\"te\\\\back\\nline"} 1' in text
    sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [0-9.e+-]+$')
    for line in text.splitlines():
        assert line.startswith("# ") or sample.match(line), line


def test_timer_as_context_manager_and_decorator() -> None:
    m = Metrics()
    with m.timer("block_seconds", part="a"):
        pass

    @m.timer("call_seconds")
    def work(x: int) -> int:
        return x * 2

    assert work(2) == 4 and work(3) == 6
    hist = m.to_dict()["histograms"]
    assert hist["block_seconds"][0]["count"] == 1
    assert hist["call_seconds"][0]["count"] == 2


def test_concurrent_updates_are_not_lost() -> None:
    m = Metrics()

    def bump() -> None:
        for _ in range(2000):
            m.inc("hits_total")
            m.observe("lat_seconds", 0.001)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert m.counter("hits_total") == 8000
    assert m.to_dict()["histograms"]["lat_seconds"][0]["count"] == 8000


def test_quantile_estimate_stays_inside_the_right_bucket() -> None:
    m = Metrics(buckets=(0.01, 0.02, 0.04))
    for _ in range(90):
        m.observe("x_seconds", 0.005)
    for _ in range(10):
        m.observe("x_seconds", 0.03)
    assert 0 < m.quantile("x_seconds", 0.5) <= 0.01
    assert 0.02 < m.quantile("x_seconds", 0.95) <= 0.04


def test_bad_names_values_and_buckets_are_refused() -> None:
    m = Metrics()
    with pytest.raises(InputError, match="can only increase"):
        m.inc("x_total", -1)
    with pytest.raises(InputError, match="Metric name"):
        m.inc("bad name")
    with pytest.raises(InputError, match="Label name"):
        m.observe("x_seconds", 1.0, le="1")
    with pytest.raises(ConfigError, match="buckets"):
        Metrics(buckets=(0.1, 0.05))
    with pytest.raises(ConfigError, match="prefix"):
        Metrics(prefix="1bad")


def test_stage_hook_and_observed_retriever_feed_metrics(animal_collection: ragkit.Collection) -> None:
    m = Metrics()
    trace = Trace(hook=m.stage_hook("animals"))
    HybridRetriever(animal_collection).search("cats", k=2, trace=trace)
    series = {s["labels"]["stage"]: s["count"] for s in m.to_dict()["histograms"]["stage_seconds"]}
    assert series == {name: 1 for name in trace.stage_seconds}

    m2 = Metrics()
    observed = ObservedRetriever(BM25Retriever(animal_collection), collection="animals", metrics=m2)
    observed.search_batch(["cats purr", "qqqq zzzz", "fish"], k=2)
    observed.search("dogs", k=2)
    assert m2.counter("searches_total", collection="animals") == 2
    assert m2.counter("queries_total", collection="animals") == 4
    assert m2.counter("empty_results_total", collection="animals") == 1
    totals = m2.to_dict()["histograms"]["search_seconds"][0]
    assert totals["count"] == 2
    assert observed.last_trace is not None and observed.last_trace.n_queries == 1
