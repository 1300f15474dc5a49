"""Export traces as OpenTelemetry spans (optional: ``pip install 'ragkit[otel]'``).

A finished :class:`Trace` becomes one ``ragkit.search`` span with a child span per stage,
carrying the stage's exact start and end times, so exporting costs nothing during the
search itself. Spans go to the tracer you pass, else to the global tracer provider.

Example:
    >>> trace = Trace()
    >>> hits = retriever.search("query", trace=trace)     # doctest: +SKIP
    >>> export_trace(trace, attributes={"collection": "docs"})   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ragkit.core.deps import require
from ragkit.core.errors import InputError
from ragkit.observe.trace import Trace

__all__ = ["export_trace"]


def export_trace(trace: Trace, tracer: Any = None, *, name: str = "ragkit.search",
                 attributes: Mapping[str, Any] | None = None) -> Any:
    """Emit ``trace`` as a parent span with one child per stage; returns the parent span.

    Stage spans are named ``ragkit.<stage>`` (``ragkit.bm25.tokenize``). The parent carries
    ``ragkit.retriever``, ``ragkit.queries``, and per leg ``ragkit.<leg>.candidates`` and
    ``ragkit.<leg>.top_score`` (mean over the batch), plus ``attributes``.

    Raises:
        MissingDependencyError: opentelemetry-api is not installed.
        InputError: the trace has not been through a search yet.
    """
    otel = require("opentelemetry.trace", extra="otel")
    if trace.total is None:
        raise InputError("export_trace needs a finished trace: pass it to search(..., trace=trace) first.")
    tracer = tracer or otel.get_tracer("ragkit")
    t0 = trace.wall_start_ns
    attrs: dict[str, Any] = {"ragkit.retriever": trace.retriever, "ragkit.queries": trace.n_queries}
    for leg_name, leg in trace.legs.items():
        attrs[f"ragkit.{leg_name}.candidates"] = int(leg.counts.sum())
        tops = leg.top_scores
        if not np.isnan(tops).all():
            attrs[f"ragkit.{leg_name}.top_score"] = float(np.nanmean(tops))
    attrs.update(attributes or {})
    parent = tracer.start_span(name, start_time=t0, attributes=attrs)
    context = otel.set_span_in_context(parent)
    for stage in trace.stages:
        begin = t0 + int(stage.start * 1e9)
        span = tracer.start_span(f"ragkit.{stage.name}", context=context, start_time=begin,
                                 attributes={"ragkit.stage": stage.name})
        span.end(end_time=begin + int(stage.seconds * 1e9))
    parent.end(end_time=t0 + int(trace.total * 1e9))
    return parent
