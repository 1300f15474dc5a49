"""The LlamaIndex adapter, used through LlamaIndex's own retriever interface (retrieve, aretrieve)."""

from __future__ import annotations

import asyncio

import pytest

import ragkit
from ragkit import BM25Retriever, HybridRetriever, Principal

pytest.importorskip("llama_index.core")

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle

from ragkit.adapters.llamaindex import RagkitLlamaIndexRetriever

TAGS = {"cats": ["pet", "feline"], "dogs": ["pet"], "birds": ["wild"], "fish": ["wild", "pet"], "snakes": ["wild"],
        "horses": ["farm"]}  # tests/conftest.py ANIMALS: the access field is not returned with hits


def test_nodes_carry_the_hits(animal_collection: ragkit.Collection, animal_docs: list[ragkit.Document]) -> None:
    hybrid = HybridRetriever(animal_collection)
    li = RagkitLlamaIndexRetriever(hybrid, k=4)
    assert isinstance(li, BaseRetriever)
    nodes = li.retrieve("dogs bark at strangers")
    hits = hybrid.search("dogs bark at strangers", 4)
    assert all(isinstance(n, NodeWithScore) for n in nodes)
    assert [(n.node.node_id, n.score) for n in nodes] == [(f"{h.doc_id}#{h.position}", h.score) for h in hits]
    texts = {d.id: d.text for d in animal_docs}
    for n, h in zip(nodes, hits, strict=True):
        node = n.node
        assert texts[h.doc_id][node.start_char_idx:node.end_char_idx] == node.get_content() == h.text
        assert node.relationships[NodeRelationship.SOURCE].node_id == h.doc_id
        assert node.metadata["ragkit"]["legs"] == {k: {"rank": s.rank, "score": s.score} for k, s in h.legs.items()}
        assert "ragkit" not in node.get_content(metadata_mode="llm")
    again = asyncio.run(li.aretrieve(QueryBundle("dogs bark at strangers")))
    assert [(n.node.node_id, n.score) for n in again] == [(n.node.node_id, n.score) for n in nodes]


def test_filters_and_principals(animal_collection: ragkit.Collection) -> None:
    li = RagkitLlamaIndexRetriever(BM25Retriever(animal_collection), k=10, filters={"legs": 0})
    assert {n.node.metadata["ragkit"]["doc_id"] for n in li.retrieve("fish swim snakes slither")} <= {"fish", "snakes"}
    animal_collection.set_access_field("tags")
    with pytest.raises(ragkit.AccessError):
        RagkitLlamaIndexRetriever(BM25Retriever(animal_collection)).retrieve("cats")
    pets = RagkitLlamaIndexRetriever(HybridRetriever(animal_collection), k=10, principal=Principal("p", groups=["pet"]))
    found = asyncio.run(pets.aretrieve("cats dogs birds fish snakes horses"))
    assert found and all("pet" in TAGS[n.node.metadata["ragkit"]["doc_id"]] for n in found)
    with pytest.raises(ragkit.ConfigError):
        RagkitLlamaIndexRetriever(object())
