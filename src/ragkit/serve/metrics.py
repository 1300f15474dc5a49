"""The service's Prometheus metrics (prometheus_client), in a registry of its own."""

from __future__ import annotations

from typing import Any

from ragkit.observe.metrics import DEFAULT_BUCKETS
from ragkit.observe.trace import Trace

__all__ = ["ServeMetrics"]


class ServeMetrics:
    """Requests, latency, search stages, timeouts, reloads and the served version, for ``GET /metrics``."""

    def __init__(self, collection: str) -> None:
        import prometheus_client as prom

        self._prom = prom
        self.registry = prom.CollectorRegistry()
        self.collection = collection
        labels = ["collection"]
        self.requests = prom.Counter("ragkit_http_requests", "HTTP requests by endpoint and status.",
                                     [*labels, "endpoint", "status"], registry=self.registry)
        self.latency = prom.Histogram("ragkit_http_request_seconds", "HTTP request latency by endpoint.",
                                      [*labels, "endpoint"], buckets=DEFAULT_BUCKETS, registry=self.registry)
        self.queries = prom.Counter("ragkit_queries", "Queries searched.", labels, registry=self.registry)
        self.empty = prom.Counter("ragkit_empty_results", "Queries that returned no hit.", labels, registry=self.registry)
        self.stages = prom.Histogram("ragkit_stage_seconds", "Search stage time per call.", [*labels, "stage"],
                                     buckets=DEFAULT_BUCKETS, registry=self.registry)
        self.timeouts = prom.Counter("ragkit_search_timeouts", "Searches past the per-request timeout.", labels,
                                     registry=self.registry)
        self.in_flight = prom.Gauge("ragkit_searches_in_flight", "Search requests being answered.", labels,
                                    registry=self.registry)
        self.reloads = prom.Counter("ragkit_collection_reloads", "Newly saved versions picked up (or failed to).",
                                    [*labels, "outcome"], registry=self.registry)
        self.chunks = prom.Gauge("ragkit_collection_chunks", "Live chunks of the served version.", labels,
                                 registry=self.registry)
        self.version = prom.Info("ragkit_collection_version", "The served version.", labels, registry=self.registry)

    def record_search(self, trace: Trace, results: list[list[Any]]) -> None:
        c = self.collection
        self.queries.labels(c).inc(len(results))
        empty = sum(1 for hits in results if not hits)
        if empty:
            self.empty.labels(c).inc(empty)
        for stage in trace.stages:
            self.stages.labels(c, stage.name).observe(stage.seconds)

    def serving(self, version: str, chunks: int) -> None:
        self.version.labels(self.collection).info({"version": version})
        self.chunks.labels(self.collection).set(chunks)

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition and its content type."""
        return self._prom.generate_latest(self.registry), self._prom.CONTENT_TYPE_LATEST
