from __future__ import annotations

import sys

import pytest

import ragkit
from ragkit import HybridRetriever, InputError, MissingDependencyError
from ragkit.observe import ObservedRetriever, Trace, export_trace


@pytest.fixture
def exporter_and_tracer() -> tuple[object, object]:
    sdk_trace = pytest.importorskip("opentelemetry.sdk.trace")
    export = pytest.importorskip("opentelemetry.sdk.trace.export")
    memory = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")
    exporter = memory.InMemorySpanExporter()
    provider = sdk_trace.TracerProvider()
    provider.add_span_processor(export.SimpleSpanProcessor(exporter))
    return exporter, provider.get_tracer("test")


def test_a_trace_becomes_one_span_per_stage_under_a_parent(animal_collection: ragkit.Collection,
                                                            exporter_and_tracer: tuple) -> None:
    exporter, tracer = exporter_and_tracer
    trace = Trace()
    HybridRetriever(animal_collection).search("cats purr", k=3, trace=trace)
    export_trace(trace, tracer, attributes={"collection": "animals"})
    spans = exporter.get_finished_spans()
    parent = next(s for s in spans if s.name == "ragkit.search")
    children = [s for s in spans if s is not parent]
    assert [s.name for s in children] == [f"ragkit.{s.name}" for s in trace.stages]
    assert all(s.parent is not None and s.parent.span_id == parent.context.span_id for s in children)
    assert parent.attributes["collection"] == "animals" and parent.attributes["ragkit.retriever"] == "hybrid"
    assert parent.attributes["ragkit.dense.candidates"] == trace.legs["dense"].counts.sum()
    for span, stage in zip(children, trace.stages, strict=True):
        assert abs((span.end_time - span.start_time) - stage.seconds * 1e9) <= 2
        assert parent.start_time <= span.start_time and span.end_time <= parent.end_time + 2
    assert abs((parent.end_time - parent.start_time) - trace.total * 1e9) <= 2


def test_observed_retriever_exports_each_search(animal_collection: ragkit.Collection, exporter_and_tracer: tuple) -> None:
    exporter, tracer = exporter_and_tracer
    observed = ObservedRetriever(HybridRetriever(animal_collection), otel=tracer, collection="animals")
    observed.search("fish", k=2)
    observed.search("dogs", k=2)
    parents = [s for s in exporter.get_finished_spans() if s.name == "ragkit.search"]
    assert len(parents) == 2 and all(p.attributes["ragkit.collection"] == "animals" for p in parents)


def test_unfinished_trace_is_refused() -> None:
    pytest.importorskip("opentelemetry.trace")
    with pytest.raises(InputError, match="finished trace"):
        export_trace(Trace())


def test_missing_package_gives_an_install_hint(animal_collection: ragkit.Collection, monkeypatch: pytest.MonkeyPatch) -> None:
    trace = Trace()
    HybridRetriever(animal_collection).search("cats", k=1, trace=trace)
    monkeypatch.setitem(sys.modules, "opentelemetry.trace", None)
    with pytest.raises(MissingDependencyError, match=r"ragkit\[otel\]"):
        export_trace(trace)
