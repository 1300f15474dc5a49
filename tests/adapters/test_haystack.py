"""The Haystack component, used through Haystack's Pipeline (run, run_async, serialisation)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import ragkit
from ragkit import HybridRetriever, Principal

pytest.importorskip("haystack")

from haystack import Document, Pipeline

from ragkit.adapters.haystack import RagkitRetriever

TAGS = {"cats": ["pet", "feline"], "dogs": ["pet"], "birds": ["wild"], "fish": ["wild", "pet"], "snakes": ["wild"],
        "horses": ["farm"]}  # tests/conftest.py ANIMALS: the access field is not returned with hits


@pytest.fixture
def saved(animal_collection: ragkit.Collection, tmp_path: Path) -> Path:
    animal_collection.save(tmp_path / "animals")
    return tmp_path / "animals"


def _ids(documents: list[Document]) -> list[tuple[str, float | None]]:
    return [(d.id, d.score) for d in documents]


def test_in_a_pipeline_sync_and_async(saved: Path) -> None:
    with ragkit.open_collection(saved) as col:
        hits = HybridRetriever(col).search("birds sing at dawn", 3)
    pipeline = Pipeline()
    pipeline.add_component("retriever", RagkitRetriever(saved, top_k=3))
    out = pipeline.run({"retriever": {"query": "birds sing at dawn"}})["retriever"]["documents"]
    assert _ids(out) == [(f"{h.doc_id}#{h.position}", h.score) for h in hits]
    first = out[0]
    assert first.content == hits[0].text and first.meta["ragkit"]["start"] == hits[0].start
    assert first.meta["ragkit"]["legs"] == {k: {"rank": s.rank, "score": s.score} for k, s in hits[0].legs.items()}
    async_out = asyncio.run(pipeline.run_async({"retriever": {"query": "birds sing at dawn"}}))
    assert _ids(async_out["retriever"]["documents"]) == _ids(out)
    component = RagkitRetriever(saved, top_k=3)
    assert _ids(asyncio.run(component.run_async("birds sing at dawn"))["documents"]) == _ids(out)
    assert len(component.run("birds", top_k=1)["documents"]) == 1


def test_serialisation_round_trip(saved: Path) -> None:
    component = RagkitRetriever(saved, mode="bm25", top_k=2, filters={"kind": "mammal"}, principal={"id": "u", "groups": ["pet"]})
    data = component.to_dict()
    assert data["type"] == "ragkit.adapters.haystack.RagkitRetriever"
    assert data["init_parameters"]["principal"] == {"id": "u", "groups": ["pet"]}
    back = RagkitRetriever.from_dict(data)
    assert back.principal == Principal("u", groups=["pet"]) and back.mode == "bm25" and back.filters == {"kind": "mammal"}
    pipeline = Pipeline()
    pipeline.add_component("retriever", component)
    loaded = Pipeline.loads(pipeline.dumps(), allowed_modules=["ragkit.adapters.haystack"])
    assert _ids(loaded.run({"retriever": {"query": "dogs"}})["retriever"]["documents"]) == _ids(component.run("dogs")["documents"])
    with pytest.raises(ragkit.ConfigError, match="cannot be serialised"):
        RagkitRetriever(retriever=HybridRetriever(ragkit.open_collection(saved))).to_dict()


def test_filters_and_principals(saved: Path) -> None:
    with ragkit.Collection.open(saved) as col:
        col.set_access_field("tags")
        col.save(saved)
    with pytest.raises(ragkit.AccessError):
        RagkitRetriever(saved).run("cats")
    wild = RagkitRetriever(saved, top_k=10, principal={"id": "u", "groups": ["wild"]}, filters={"legs": {"$lte": 2}})
    docs = wild.run("cats dogs birds fish snakes horses")["documents"]
    assert docs and all("wild" in TAGS[d.meta["ragkit"]["doc_id"]] and d.meta["legs"] <= 2 for d in docs)
    only_birds = wild.run("cats dogs birds fish snakes horses", filters={"kind": "bird"})["documents"]
    assert {d.meta["ragkit"]["doc_id"] for d in only_birds} == {"birds"}


def test_bad_construction(saved: Path) -> None:
    for kwargs in ({}, {"collection": saved, "retriever": object()}):
        with pytest.raises(ragkit.ConfigError, match="exactly one"):
            RagkitRetriever(**kwargs)  # type: ignore[arg-type]
    for bad in ({"mode": "sparse"}, {"principal": "alice"}, {"principal": {"id": ""}}):
        with pytest.raises(ragkit.ConfigError):
            RagkitRetriever(saved, **bad)  # type: ignore[arg-type]
