"""A retriever wrapper that traces every search into metrics, a query log and OpenTelemetry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ragkit.core.errors import InputError
from ragkit.core.results import Candidates, Hit
from ragkit.core.tracing import Tracer
from ragkit.core.validation import check_str
from ragkit.observe.metrics import Metrics
from ragkit.observe.querylog import QueryLog, log_records
from ragkit.observe.trace import StageHook, Trace
from ragkit.search.wrapper import RetrieverWrapper

__all__ = ["ObservedRetriever"]


class ObservedRetriever(RetrieverWrapper):
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
        self.collection_label = check_str("ObservedRetriever", "collection", collection)
        self.metrics = metrics
        self.query_log = query_log
        self.otel = otel
        self.hook = hook
        self.leg_depth = leg_depth
        self.name = getattr(retriever, "name", "retriever")
        self.last_trace: Trace | None = None

    # -- the retriever shape (the rest is RetrieverWrapper's) ---------------------------------
    def _fresh(self) -> None:
        self.last_trace = None

    def search_batch(self, queries: Sequence[str], k: int = 10, filters: Mapping[str, Any] | None = None, *,
                     trace: Tracer | None = None, query_vectors: np.ndarray | None = None) -> list[list[Hit]]:
        """The retriever's ``search_batch``, traced and reported.

        ``trace``: a :class:`Trace` to record into (also reported); by default a new one per call.
        """
        own = self._trace(trace)
        extra = {} if query_vectors is None else {"query_vectors": query_vectors}
        results: list[list[Hit]] = self.retriever.search_batch(queries, k, filters, trace=own, **extra)
        self._report(own, list(queries), results, k, filters)
        return results

    def retrieve(self, queries: Sequence[str], k: int, filters: Mapping[str, Any] | None = None, *,
                 trace: Tracer | None = None, query_vectors: np.ndarray | None = None) -> list[Candidates]:
        """The retriever's ``retrieve`` (ranked rows), traced into the metrics (not the query log: it has no hits)."""
        own = self._trace(trace)
        extra = {} if query_vectors is None else {"query_vectors": query_vectors}
        found: list[Candidates] = self.retriever.retrieve(queries, k, filters, trace=own, **extra)
        self._report(own, list(queries), None, k, filters)
        return found


    def _trace(self, given: Tracer | None) -> Trace:
        if given is None:
            return Trace(self.hook)
        if not isinstance(given, Trace):
            raise InputError(f"ObservedRetriever records into a ragkit.observe.Trace; got {type(given).__name__}.")
        return given

    def _report(self, trace: Trace, queries: list[str], results: list[list[Hit]] | None, k: int,
                filters: Mapping[str, Any] | None) -> None:
        self.last_trace = trace
        if self.metrics is not None:
            self.metrics.record_trace(trace, self.collection_label)
            empty = sum(1 for hits in results if not hits) if results is not None else 0
            if empty:
                self.metrics.inc("empty_results_total", float(empty), collection=self.collection_label)
        if self.query_log is not None and results is not None:
            self.query_log.append(log_records(queries, results, trace, k=k, filters=filters, collection=self.collection_label,
                                              generation=self.generation, leg_depth=self.leg_depth))
        if self.otel is not None and self.otel is not False:
            from ragkit.observe.otel import export_trace

            export_trace(trace, None if self.otel is True else self.otel,
                         attributes={"ragkit.collection": self.collection_label})
