"""A retriever wrapper that traces every search into metrics, a query log and OpenTelemetry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ragkit.core.results import Hit
from ragkit.core.validation import check_str
from ragkit.observe.metrics import Metrics
from ragkit.observe.querylog import QueryLog, log_records
from ragkit.observe.trace import StageHook, Trace

__all__ = ["ObservedRetriever"]


class ObservedRetriever:
    """Runs ``retriever`` with a :class:`Trace` on every call and reports it.

    Args:
        retriever: a ragkit retriever (``search_batch(..., trace=)``).
        collection: the ``collection`` label of metrics and log rows.
        metrics: counters and stage/total latency histograms go here.
        query_log: one row per query goes here (see :mod:`ragkit.observe.querylog`).
        otel: export each trace as OpenTelemetry spans (``True``: the global tracer, or a tracer object).
        hook: also called with each stage as it completes.
        leg_depth: leg candidates kept per query in the log (default: ``k``).

    The last call's trace is :attr:`last_trace`.

    Example:
        >>> metrics = Metrics()
        >>> observed = ObservedRetriever(HybridRetriever(col), collection="docs", metrics=metrics)  # doctest: +SKIP
        >>> observed.search("fusion", k=5)                                                        # doctest: +SKIP
        >>> print(metrics.to_prometheus())                                                        # doctest: +SKIP
    """

    def __init__(self, retriever: Any, *, collection: str = "default", metrics: Metrics | None = None,
                 query_log: QueryLog | None = None, otel: Any = None, hook: StageHook | None = None,
                 leg_depth: int | None = None) -> None:
        self.retriever = retriever
        self.collection = check_str("ObservedRetriever", "collection", collection)
        self.metrics = metrics
        self.query_log = query_log
        self.otel = otel
        self.hook = hook
        self.leg_depth = leg_depth
        self.name = getattr(retriever, "name", "retriever")
        self.last_trace: Trace | None = None

    @property
    def generation(self) -> tuple[int, ...]:
        return tuple(self.retriever.generation)

    def search(self, query: str, k: int = 10, filters: Mapping[str, Any] | None = None) -> list[Hit]:
        return self.search_batch([query], k, filters)[0]

    def search_batch(self, queries: Sequence[str], k: int = 10, filters: Mapping[str, Any] | None = None) -> list[list[Hit]]:
        trace = Trace(self.hook)
        results: list[list[Hit]] = self.retriever.search_batch(queries, k, filters, trace=trace)
        self.last_trace = trace
        if self.metrics is not None:
            self.metrics.record_trace(trace, self.collection)
            empty = sum(1 for hits in results if not hits)
            if empty:
                self.metrics.inc("empty_results_total", float(empty), collection=self.collection)
        if self.query_log is not None:
            generation = getattr(self.retriever, "generation", ())
            self.query_log.append(log_records(list(queries), results, trace, k=k, filters=filters, collection=self.collection,
                                              generation=generation, leg_depth=self.leg_depth))
        if self.otel is not None and self.otel is not False:
            from ragkit.observe.otel import export_trace

            export_trace(trace, None if self.otel is True else self.otel, attributes={"ragkit.collection": self.collection})
        return results
