"""The LangChain adapter, used through LangChain's own retriever interface (invoke, ainvoke, batch, LCEL)."""

from __future__ import annotations

import asyncio

import pytest

import ragkit
from ragkit import HybridRetriever, Principal

pytest.importorskip("langchain_core")

from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda

from ragkit.adapters.langchain import RagkitLangChainRetriever

TAGS = {"cats": ["pet", "feline"], "dogs": ["pet"], "birds": ["wild"], "fish": ["wild", "pet"], "snakes": ["wild"],
        "horses": ["farm"]}  # tests/conftest.py ANIMALS: the access field is not returned with hits


def test_documents_carry_the_hits(animal_collection: ragkit.Collection) -> None:
    hybrid = HybridRetriever(animal_collection)
    lc = RagkitLangChainRetriever(hybrid, k=3)
    assert isinstance(lc, BaseRetriever)
    docs = lc.invoke("cats purr and sleep")
    hits = hybrid.search("cats purr and sleep", 3)
    assert all(isinstance(d, Document) for d in docs) and len(docs) == 3
    assert [d.id for d in docs] == [f"{h.doc_id}#{h.position}" for h in hits]
    for d, h in zip(docs, hits, strict=True):
        extra = d.metadata["ragkit"]
        assert d.page_content == h.text and extra["score"] == h.score and (extra["start"], extra["end"]) == (h.start, h.end)
        assert extra["legs"] == {n: {"rank": s.rank, "score": s.score} for n, s in h.legs.items()} and extra["legs"]
        assert d.metadata["kind"] == h.metadata["kind"]
    assert [d.id for d in asyncio.run(lc.ainvoke("cats purr and sleep"))] == [d.id for d in docs]
    assert len(lc.invoke("cats", k=1)) == 1
    batched = lc.batch(["dogs bark", "fish swim"])
    assert [[d.id for d in x] for x in batched] == [[d.id for d in lc.invoke(q)] for q in ["dogs bark", "fish swim"]]
    chain = lc | RunnableLambda(lambda found: [d.metadata["ragkit"]["doc_id"] for d in found])
    assert chain.invoke("horses gallop")[0] == "horses"


def test_filters_and_principals(animal_collection: ragkit.Collection) -> None:
    lc = RagkitLangChainRetriever(HybridRetriever(animal_collection), k=10, filters={"kind": "mammal"})
    assert {d.metadata["kind"] for d in lc.invoke("animals")} == {"mammal"}
    narrowed = lc.invoke("animals", filters={"legs": 4, "tags": "farm"})
    assert {d.metadata["ragkit"]["doc_id"] for d in narrowed} == {"horses"}  # a call's filter is ANDed with the fixed one
    animal_collection.set_access_field("tags")
    with pytest.raises(ragkit.AccessError):
        RagkitLangChainRetriever(HybridRetriever(animal_collection)).invoke("cats")
    wild = RagkitLangChainRetriever(HybridRetriever(animal_collection), k=10, principal=Principal("u", groups=["wild"]))
    found = wild.invoke("cats dogs birds fish snakes")
    assert found and all("wild" in TAGS[d.metadata["ragkit"]["doc_id"]] and "tags" not in d.metadata for d in found)
    assert {d.id for d in asyncio.run(wild.ainvoke("cats dogs birds fish snakes"))} == {d.id for d in found}


def test_bad_construction(animal_collection: ragkit.Collection) -> None:
    with pytest.raises(ragkit.ConfigError, match="lacks"):
        RagkitLangChainRetriever(object())
    with pytest.raises(ragkit.InputError):
        RagkitLangChainRetriever(HybridRetriever(animal_collection), k=0)
    with pytest.raises(ragkit.InputError, match="Principal"):
        RagkitLangChainRetriever(HybridRetriever(animal_collection), principal="alice")  # type: ignore[arg-type]
