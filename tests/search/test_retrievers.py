from __future__ import annotations

import numpy as np
import pytest

import ragkit
from ragkit import BM25Retriever, ConfigError, DenseRetriever, HybridRetriever, InputError, ScoreFusion


@pytest.mark.parametrize("cls", [DenseRetriever, BM25Retriever, HybridRetriever])
def test_each_retriever_finds_the_obvious_document(animal_collection: ragkit.Collection, cls: type,
                                                   animal_text: dict[str, str]) -> None:
    hits = cls(animal_collection).search("cats purr content", k=3)
    assert hits[0].doc_id == "cats"
    assert all(h.text in animal_text[h.doc_id] for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_hits_point_back_into_their_document(animal_collection: ragkit.Collection, animal_text: dict[str, str]) -> None:
    for hit in HybridRetriever(animal_collection).search("dogs bark", k=5):
        assert animal_text[hit.doc_id][hit.start:hit.end] == hit.text


def test_hybrid_reports_rank_and_score_per_leg(animal_collection: ragkit.Collection) -> None:
    hits = HybridRetriever(animal_collection, fusion="rrf").search("birds sing at dawn", k=4)
    top = hits[0]
    assert top.doc_id == "birds" and set(top.legs) == {"bm25", "dense"}
    bm25 = BM25Retriever(animal_collection).search("birds sing at dawn", k=4)
    assert top.legs["bm25"].score == pytest.approx(next(h.score for h in bm25 if h.chunk_row == top.chunk_row))
    assert top.score == pytest.approx(sum(1 / (60 + leg.rank) for leg in top.legs.values()))


@pytest.mark.parametrize("fusion", ["rrf", "score", ScoreFusion(weights=(0.2, 0.8), normalization="zscore")])
def test_filters_apply_inside_every_leg(animal_collection: ragkit.Collection, fusion: object) -> None:
    retriever = HybridRetriever(animal_collection, fusion=fusion)  # type: ignore[arg-type]
    hits = retriever.search("cats purr", k=10, filters={"kind": {"$ne": "mammal"}})
    assert hits and all(h.doc_id in {"birds", "fish", "snakes"} for h in hits)
    for name in ("dense", "bm25"):
        assert all(h.legs[name].rank >= 1 for h in hits if name in h.legs)


def test_filtered_dense_search_returns_k_when_k_match(animal_collection: ragkit.Collection) -> None:
    mask = animal_collection.filter_mask({"kind": "mammal"})
    assert mask is not None
    hits = DenseRetriever(animal_collection).search("anything at all", k=3, filters={"kind": "mammal"})
    assert len(hits) == min(3, int(mask.sum()))


def test_batch_equals_single(animal_collection: ragkit.Collection) -> None:
    retriever = HybridRetriever(animal_collection)
    queries = ["fish gills", "horse sleeping", "venomous snakes"]
    batch = retriever.search_batch(queries, k=3)
    for query, hits in zip(queries, batch, strict=True):
        assert [h.chunk_row for h in hits] == [h.chunk_row for h in retriever.search(query, k=3)]


def test_metadata_comes_back_with_hits(animal_collection: ragkit.Collection) -> None:
    hit = BM25Retriever(animal_collection).search("gills", k=1)[0]
    assert hit.doc_id == "fish" and hit.metadata["kind"] == "fish" and hit.metadata["tags"] == ["wild", "pet"]


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_bad_k(animal_collection: ragkit.Collection, k: object) -> None:
    with pytest.raises(InputError, match="'k' parameter"):
        HybridRetriever(animal_collection).search("cats", k=k)  # type: ignore[arg-type]


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_query(animal_collection: ragkit.Collection, query: str) -> None:
    with pytest.raises(InputError, match="empty"):
        DenseRetriever(animal_collection).search(query)


def test_non_string_query(animal_collection: ragkit.Collection) -> None:
    with pytest.raises(InputError, match="must be a str"):
        BM25Retriever(animal_collection).search(42)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="list of queries"):
        BM25Retriever(animal_collection).search_batch("cats")


def test_k_larger_than_collection(animal_collection: ragkit.Collection) -> None:
    hits = DenseRetriever(animal_collection).search("cats", k=1000)
    assert len(hits) == animal_collection.num_chunks
    assert len({h.chunk_row for h in hits}) == len(hits)


def test_hybrid_configuration_errors(animal_collection: ragkit.Collection) -> None:
    with pytest.raises(ConfigError, match="'fusion' parameter of HybridRetriever"):
        HybridRetriever(animal_collection, fusion="max")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="at least two retrievers"):
        HybridRetriever(animal_collection, retrievers=[BM25Retriever(animal_collection)])
    with pytest.raises(ConfigError, match="distinct names"):
        HybridRetriever(animal_collection, retrievers=[BM25Retriever(animal_collection)] * 2)


def test_missing_index_kind(animal_docs: list, embedder: object) -> None:
    col = ragkit.build_collection(animal_docs, chunker=ragkit.RecursiveChunker(tokenizer="regex"),
                                  indexes=[ragkit.BM25Index()])
    assert col.embedder is None
    with pytest.raises(InputError, match="no vector index"):
        DenseRetriever(col)


def test_scores_are_finite(animal_collection: ragkit.Collection) -> None:
    hits = HybridRetriever(animal_collection, fusion="score").search("pets", k=6)
    assert np.isfinite([h.score for h in hits]).all()
