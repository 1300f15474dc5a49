"""Counters and latency histograms, exported as a dict or in the Prometheus text format.

Example:
    >>> metrics = Metrics()
    >>> with metrics.timer("rerank_seconds", collection="docs"):
    ...     pass
    >>> metrics.inc("searches_total", collection="docs")
    >>> "ragkit_searches_total" in metrics.to_prometheus()
    True
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import threading
import time
from collections.abc import Sequence
from contextlib import ContextDecorator
from dataclasses import dataclass
from typing import Any

from ragkit.core.errors import ConfigError, InputError
from ragkit.core.validation import as_list, check_float
from ragkit.observe.trace import Stage, StageHook, Trace

__all__ = ["DEFAULT_BUCKETS", "Metrics"]

#: Latency bucket upper bounds in seconds (Prometheus ``le``), from 0.25 ms to 10 s.
DEFAULT_BUCKETS: tuple[float, ...] = (0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                                      2.5, 5.0, 10.0)
_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
Labels = tuple[tuple[str, str], ...]


@dataclass
class _Histogram:
    counts: list[int]  # per bucket, not cumulative; the last one is +Inf
    total: float = 0.0
    count: int = 0


@dataclass
class _Timer(ContextDecorator):
    metrics: Metrics
    name: str
    labels: dict[str, str]
    _start: float = 0.0

    def _recreate_cm(self) -> _Timer:  # a fresh timer per decorated call (thread-safe, re-entrant)
        return _Timer(self.metrics, self.name, self.labels)

    def __enter__(self) -> _Timer:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.metrics.observe(self.name, time.perf_counter() - self._start, **self.labels)


class Metrics:
    """Thread-safe counters and histograms keyed by name and labels.

    Names get ``prefix`` + ``_`` in the export (``ragkit_`` by default). Built-in names:
    ``searches_total`` and ``queries_total`` (counters, label ``collection``),
    ``search_seconds`` and ``stage_seconds`` (histograms, labels ``collection`` and ``stage``).

    Raises:
        ConfigError: buckets that are not increasing positive finite numbers (bools and
            strings are not numbers), or a bad prefix.
    """

    def __init__(self, buckets: Sequence[float] = DEFAULT_BUCKETS, *, prefix: str = "ragkit") -> None:
        bounds: tuple[float, ...] = ()
        if not isinstance(buckets, (str, bytes)):  # bytes would iterate as ints
            try:
                bounds = tuple(check_float("Metrics", "buckets", b) for b in as_list("Metrics", buckets, "buckets"))
            except (ConfigError, InputError):  # not iterable, or a bucket that is not a finite number: the message below
                bounds = ()
        if not bounds or any(b <= 0 for b in bounds) or any(a >= b for a, b in itertools.pairwise(bounds)):
            raise ConfigError(f"The 'buckets' parameter of Metrics must be increasing positive seconds. Got {buckets!r} instead.")
        if prefix and not _NAME.match(prefix):
            raise ConfigError(f"The 'prefix' parameter of Metrics must match [a-zA-Z_:][a-zA-Z0-9_:]*. Got {prefix!r} instead.")
        self.buckets = bounds
        self.prefix = prefix
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, float]] = {}
        self._histograms: dict[str, dict[Labels, _Histogram]] = {}
        self._keys: dict[tuple[Any, ...], Labels] = {}  # (name, *label items) -> validated key

    # -- recording -----------------------------------------------------------------------
    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        """Add ``value`` (a finite number >= 0; not a bool or a str) to the counter ``name``.

        Raises:
            InputError: a bad name or label, or a ``value`` that is not a finite number >= 0.
        """
        key = self._known_key(name, labels)
        number = check_float("Metrics.inc", "value", value, error=InputError)
        if number < 0:
            raise InputError(f"Counter {name!r} can only increase; got {value!r}.")
        with self._lock:
            series = self._counters.setdefault(name, {})
            series[key] = series.get(key, 0.0) + number

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        """Record one duration in the histogram ``name``.

        Raises:
            InputError: a bad name or label, or ``seconds`` that is not a finite number >= 0
                (a duration is never negative or NaN).
        """
        key = self._known_key(name, labels)
        if not (type(seconds) is float and 0.0 <= seconds < math.inf):  # the common case (perf_counter deltas) skips the full check
            seconds = check_float("Metrics.observe", "seconds", seconds, low=0.0, error=InputError)
        slot = bisect.bisect_left(self.buckets, seconds)
        with self._lock:
            series = self._histograms.setdefault(name, {})
            hist = series.get(key)
            if hist is None:
                hist = series[key] = _Histogram([0] * (len(self.buckets) + 1))
            hist.counts[slot] += 1
            hist.total += seconds
            hist.count += 1

    def timer(self, name: str, **labels: str) -> _Timer:
        """Time a block or a function into the histogram ``name``.

        Example:
            >>> metrics = Metrics()
            >>> @metrics.timer("answer_seconds", stage="generate")
            ... def answer() -> None: ...
        """
        self._key(name, labels)
        return _Timer(self, name, dict(labels))

    def stage_hook(self, collection: str = "default") -> StageHook:
        """A :class:`Trace` hook feeding ``stage_seconds{collection, stage}`` as stages complete."""

        def hook(stage: Stage) -> None:
            self.observe("stage_seconds", stage.seconds, collection=collection, stage=stage.name)

        return hook

    def record_trace(self, trace: Trace, collection: str = "default", *, stages: bool = True) -> None:
        """Count a finished search and record its total (and, unless a hook did, its stage) latencies."""
        self.inc("searches_total", collection=collection)
        self.inc("queries_total", float(trace.n_queries), collection=collection)
        if trace.total is not None:
            self.observe("search_seconds", trace.total, collection=collection)
        if stages:
            for s in trace.stages:
                self.observe("stage_seconds", s.seconds, collection=collection, stage=s.name)

    # -- reading -------------------------------------------------------------------------
    def counter(self, name: str, **labels: str) -> float:
        """Current value of a counter (0 if never incremented)."""
        with self._lock:
            return self._counters.get(name, {}).get(self._key(name, labels), 0.0)

    def quantile(self, name: str, q: float, **labels: str) -> float:
        """Estimate the ``q`` quantile (``q`` in [0, 1]) of a histogram by linear interpolation within its bucket (NaN if empty).

        Raises:
            InputError: ``q`` is not a number in [0, 1].
        """
        q = check_float("Metrics.quantile", "q", q, low=0.0, high=1.0, error=InputError)
        with self._lock:
            hist = self._histograms.get(name, {}).get(self._key(name, labels))
            if hist is None or hist.count == 0:
                return float("nan")
            counts = list(hist.counts)
        rank, seen = q * sum(counts), 0
        for i, c in enumerate(counts):
            if c and seen + c >= rank:
                lo = self.buckets[i - 1] if i > 0 else 0.0
                hi = self.buckets[i] if i < len(self.buckets) else self.buckets[-1]
                return lo + (hi - lo) * (rank - seen) / c
            seen += c
        return self.buckets[-1]

    def to_dict(self) -> dict[str, Any]:
        """``{"counters": {name: [{labels, value}]}, "histograms": {name: [{labels, count, sum, buckets}]}}``.

        Histogram ``buckets`` map each upper bound (and ``"+Inf"``) to a cumulative count.
        """
        with self._lock:
            counters = {n: [{"labels": dict(k), "value": v} for k, v in s.items()] for n, s in self._counters.items()}
            histograms = {n: [{"labels": dict(k), "count": h.count, "sum": h.total, "buckets": self._cumulative(h)}
                              for k, h in s.items()] for n, s in self._histograms.items()}
        return {"counters": counters, "histograms": histograms}

    def to_prometheus(self) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        lines: list[str] = []
        data = self.to_dict()
        for name, series in sorted(data["counters"].items()):
            full = self._full(name)
            lines += [f"# HELP {full} ragkit counter {name}", f"# TYPE {full} counter"]
            lines += [f"{full}{_labels(s['labels'])} {_num(s['value'])}" for s in series]
        for name, series in sorted(data["histograms"].items()):
            full = self._full(name)
            lines += [f"# HELP {full} ragkit histogram {name} (seconds)", f"# TYPE {full} histogram"]
            for s in series:
                for bound, count in s["buckets"].items():
                    lines.append(f"{full}_bucket{_labels({**s['labels'], 'le': bound})} {count}")
                lines.append(f"{full}_sum{_labels(s['labels'])} {_num(s['sum'])}")
                lines.append(f"{full}_count{_labels(s['labels'])} {s['count']}")
        return "\n".join(lines) + "\n"

    def reset(self) -> None:
        with self._lock:
            self._counters.clear()
            self._histograms.clear()

    # -- helpers -------------------------------------------------------------------------
    def _full(self, name: str) -> str:
        return f"{self.prefix}_{name}" if self.prefix else name

    def _cumulative(self, hist: _Histogram) -> dict[str, int]:
        out, running = {}, 0
        for bound, c in zip([*(_num(b) for b in self.buckets), "+Inf"], hist.counts, strict=True):
            running += c
            out[bound] = running
        return out

    def _known_key(self, name: str, labels: dict[str, Any]) -> Labels:
        """:meth:`_key`, remembered per label set (validation and sorting once per series)."""
        try:
            raw = (name, *labels.items())
            key = self._keys.get(raw)
        except TypeError:  # an unhashable label value: validate every time
            return self._key(name, labels)
        if key is None:
            key = self._keys[raw] = self._key(name, labels)
        return key

    @staticmethod
    def _key(name: str, labels: dict[str, Any]) -> Labels:
        if not isinstance(name, str) or not _NAME.match(name):
            raise InputError(f"Metric name {name!r} must match [a-zA-Z_:][a-zA-Z0-9_:]*.")
        for label in labels:
            if not _LABEL.match(label) or label == "le":
                raise InputError(f"Label name {label!r} of metric {name!r} must match [a-zA-Z_][a-zA-Z0-9_]* and not be 'le'.")
        return tuple(sorted((k, str(v)) for k, v in labels.items()))


def _num(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"
