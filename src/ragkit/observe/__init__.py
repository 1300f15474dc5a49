"""Observability: search traces, metrics, a query log, drift signals, replay, OpenTelemetry export."""

from ragkit.observe.drift import DriftThresholds, compare_windows, leg_agreement, leg_top1, psi, window_stats
from ragkit.observe.metrics import DEFAULT_BUCKETS, Metrics
from ragkit.observe.observed import ObservedRetriever
from ragkit.observe.otel import export_trace
from ragkit.observe.querylog import LOG_SCHEMA, QueryLog, log_records, read_log
from ragkit.observe.replay import overlap_at_k, replay
from ragkit.observe.trace import LegTrace, Stage, StageHook, Trace
from ragkit.store.filters import filters_key

__all__ = [
    "DEFAULT_BUCKETS", "DriftThresholds", "LOG_SCHEMA", "LegTrace", "Metrics", "ObservedRetriever", "QueryLog", "Stage",
    "StageHook", "Trace", "compare_windows", "export_trace", "filters_key", "leg_agreement", "leg_top1", "log_records",
    "overlap_at_k", "psi", "read_log", "replay", "window_stats",
]
